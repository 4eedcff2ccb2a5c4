// Small request helpers shared by the identity routes.
import type { FastifyRequest } from "fastify";
import { InvalidRequestError } from "../errors.ts";

export type Obj = Record<string, unknown>;

/** The object under `key` in the JSON body ({"project": {...}}), or a 400. */
export function bodyObject(req: FastifyRequest, key: string): Obj {
  const b = req.body as Obj | undefined;
  const v = b && typeof b === "object" ? b[key] : undefined;
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new InvalidRequestError(`Expecting to find ${key} in request body.`);
  return v as Obj;
}

export function optString(o: Obj, field: string, max = 255): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > max) throw new InvalidRequestError(`Invalid input for field '${field}': expected a string of at most ${max} characters.`);
  return v;
}

export function requiredName(o: Obj, what: string): string {
  const name = optName(o, what);
  if (name === undefined) throw new InvalidRequestError(`'name' is a required property of ${what}.`);
  return name;
}

// C0, DEL and C1 controls: a name is shown in listings, logs and terminals (an ESC in it rewrites the screen).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** The `name` of an identity object when present: a non-blank string of at most 255 characters, no control characters. */
export function optName(o: Obj, what: string): string | undefined {
  const name = optString(o, "name", 255);
  if (name === undefined) return undefined;
  if (name.trim() === "") throw new InvalidRequestError(`Invalid input for field 'name' of ${what}: it must not be blank.`);
  if (CONTROL.test(name)) throw new InvalidRequestError(`Invalid input for field 'name' of ${what}: control characters are not allowed.`);
  return name;
}

export function optBool(o: Obj, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new InvalidRequestError(`Invalid input for field '${field}': expected a boolean.`);
  return v;
}

export function query(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, unknown>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q ?? {})) out[k] = Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
  return out;
}

export function listLinks(base: string, path: string): Obj {
  return { self: `${base}/v3/${path}`, previous: null, next: null };
}

/** "true"/"false" query values; undefined when absent. */
export function queryBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return !["false", "0", "no", "off"].includes(v.toLowerCase());
}
