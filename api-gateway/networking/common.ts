// Shared pieces of the Neutron API: error type names, the error handler, list filters and `fields`,
// ownership checks, deterministic ids.
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { PeerstackError } from "../../protocol/errors.ts";
import { requireAuth, type AuthContext } from "../auth/plugin.ts";
import { canAccessProject, hasRole, isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { errorBody, sendError } from "../error-bodies.ts";
import { InvalidRequestError, ItemNotFoundError, PolicyForbiddenError, messageOf, statusOf } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";

export type Obj = Record<string, unknown>;

/** A Neutron fault with its own type name (IpAddressAlreadyAllocated, NetworkInUse, …). */
export class NeutronFault extends PeerstackError {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(`NEUTRON_${type.toUpperCase()}`, message);
    this.status = status;
    this.type = type;
  }
}

export const badRequest = (message: string) => new NeutronFault(400, "HTTPBadRequest", message);
export const inUse = (type: string, message: string) => new NeutronFault(409, type, message);

// node/ipam and cidr errors by code.
const IPAM_FAULTS: Record<string, [number, string]> = {
  IP_IN_USE: [409, "IpAddressAlreadyAllocated"],
  INVALID_IP_FOR_SUBNET: [400, "InvalidIpForSubnet"],
  IP_EXHAUSTED: [409, "IpAddressGenerationFailure"],
  IPAM_UNREACHABLE: [503, "IpamOwnerUnreachable"],
  INVALID_ADDRESS: [400, "HTTPBadRequest"],
};

/** Neutron error bodies {"NeutronError": {type, message, detail}}; 401s in Keystone's shape. */
export function useNeutronErrors(app: FastifyInstance, ctx: GatewayContext): void {
  const identityUrl = (req: FastifyRequest) => `${ctx.baseUrl(req)}/identity`;
  app.setErrorHandler((err: Error, req, reply) => {
    const code = (err as { code?: unknown }).code;
    const mapped = err instanceof NeutronFault ? ([err.status, err.type] as const) : typeof code === "string" ? IPAM_FAULTS[code] : undefined;
    if (mapped) {
      req.log.info({ code, status: mapped[0] }, err.message);
      return reply.code(mapped[0]).type("application/json").send({ NeutronError: { type: mapped[1], message: err.message, detail: "" } });
    }
    const status = statusOf(err);
    if (status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ code, status }, err.message);
    return sendError(reply, "neutron", status, messageOf(err, status), err, identityUrl(req));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).type("application/json").send(errorBody("neutron", 404, "The resource could not be found."));
  });
}

/** The body object under `key`, or a 400. */
export function body(req: FastifyRequest, key: string): Obj {
  const b = req.body as Obj | undefined;
  const v = b && typeof b === "object" ? b[key] : undefined;
  if (!v || typeof v !== "object" || Array.isArray(v)) throw badRequest(`Resource body required: expected '${key}' in the request body.`);
  return v as Obj;
}

export function str(o: Obj, field: string, max = 255): string | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length > max) throw badRequest(`Invalid input for ${field}. Reason: '${String(v)}' is not a valid string (at most ${max} characters).`);
  return v;
}

export function bool(o: Obj, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "True") return true;
  if (v === "false" || v === "False") return false;
  throw badRequest(`Invalid input for ${field}. Reason: '${String(v)}' is not a valid boolean value.`);
}

/** Refuses attributes the resource does not have (Neutron: "Unrecognized attribute(s)"). */
export function onlyKnown(o: Obj, known: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length > 0) throw badRequest(`Unrecognized attribute(s) '${extra.join(", ")}'`);
}

export function nowIso(ctx: GatewayContext): string {
  return new Date(ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A UUID derived from `text` (the same on every node: the default security group, its rules). */
export function uuidFrom(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Caller with a project-scoped token. */
export function caller(req: FastifyRequest): AuthContext & { project: CatalogRecord } {
  const a = requireAuth(req);
  if (!a.project) throw new PolicyForbiddenError("networking API calls with an unscoped token");
  return a as AuthContext & { project: CatalogRecord };
}

/** The project a new resource belongs to: the caller's, or (admins) the one in the body. */
export function owningProject(a: AuthContext & { project: CatalogRecord }, o: Obj, action: string): string {
  if (!hasRole(a, "member")) throw new PolicyForbiddenError(action);
  const asked = o.project_id ?? o.tenant_id;
  if (asked === undefined || asked === a.project.id) return a.project.id;
  if (typeof asked !== "string") throw badRequest("Invalid input for project_id.");
  if (!isAdmin(a)) throw new PolicyForbiddenError(action);
  return asked;
}

/** A record the caller may see (its project's, shared ones, or any for admins), else a 404. */
export function visible(a: AuthContext, r: CatalogRecord | undefined, type: string, id: string): CatalogRecord {
  if (!r || !(canAccessProject(a, String(r.project_id)) || r.shared === true)) throw new ItemNotFoundError(type, id, `${type.replace(/([A-Z])/g, " $1").replace(/^./, (c) => c.toUpperCase())} ${id} could not be found.`);
  return r;
}

/** Writes need member on the owning project (or admin). */
export function requireWrite(a: AuthContext, r: CatalogRecord, action: string): void {
  if (isAdmin(a)) return;
  if (a.project?.id !== r.project_id || !hasRole(a, "member")) throw new PolicyForbiddenError(action);
}

const NOT_FILTERS = new Set(["fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse", "verbose"]);

/** Query values as lists (?id=a&id=b). */
export function queryLists(req: FastifyRequest): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of Object.entries((req.query as Obj) ?? {})) out.set(k, (Array.isArray(v) ? v : [v]).map(String));
  return out;
}

function matches(value: unknown, wanted: string): boolean {
  if (typeof value === "boolean") return String(value) === wanted.toLowerCase();
  if (value === null || value === undefined) return wanted === "" || wanted === "None";
  if (Array.isArray(value)) return value.some((x) => matches(x, wanted));
  if (typeof value === "object") {
    // fixed_ips=ip_address=10.0.0.3 / fixed_ips=subnet_id=…
    const [k, ...rest] = wanted.split("=");
    return rest.length > 0 && String((value as Obj)[k]) === rest.join("=");
  }
  return String(value) === wanted;
}

/** Applies Neutron's list filters, limit/marker and `fields` to views. */
export function listResult(req: FastifyRequest, views: Obj[]): Obj[] {
  const q = queryLists(req);
  let out = views.filter((v) => [...q].every(([k, wanted]) => NOT_FILTERS.has(k) || wanted.some((w) => matches(v[k === "tenant_id" ? "project_id" : k], w))));
  const marker = q.get("marker")?.[0];
  if (marker !== undefined) {
    const i = out.findIndex((v) => v.id === marker);
    if (i < 0) throw new InvalidRequestError(`marker ${marker} not found`);
    out = out.slice(i + 1);
  }
  const limit = Number(q.get("limit")?.[0]);
  if (Number.isInteger(limit) && limit > 0) out = out.slice(0, limit);
  return out.map((v) => withFields(req, v));
}

export function withFields(req: FastifyRequest, v: Obj): Obj {
  const fields = queryLists(req).get("fields");
  if (!fields || fields.length === 0) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => fields.includes(k)));
}

/** Records of a project-scoped kind the caller may list. */
export function listable(ctx: GatewayContext, a: AuthContext, kind: string): CatalogRecord[] {
  return ctx.store
    .list(kind, (r) => canAccessProject(a, String(r.project_id)) || r.shared === true)
    .sort((x, y) => String(x.created_at).localeCompare(String(y.created_at)) || x.id.localeCompare(y.id));
}

export function standard(r: CatalogRecord): Obj {
  return {
    project_id: r.project_id,
    tenant_id: r.project_id,
    created_at: r.created_at,
    updated_at: r.updated_at ?? r.created_at,
    revision_number: r.revision_number ?? 0,
    description: r.description ?? "",
    tags: r.tags ?? [],
  };
}
