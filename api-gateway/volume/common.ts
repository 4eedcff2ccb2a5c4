// Shared by the Cinder routes: the backend the agent passes (quota escrow, host choice), lookups that
// answer Cinder's 404s, request-body parsing, and the microversion header Cinder echoes.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { QuotaEscrow } from "../../node/quota/escrow.ts";
import { requireAuth, type AuthContext } from "../auth/plugin.ts";
import { canAccessProject } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, ItemNotFoundError, VersionNotAcceptableError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { VOLUME_MAX_VERSION, VOLUME_MIN_VERSION } from "../versions.ts";
import { SNAPSHOT, VOLUME } from "./model.ts";

export type Obj = Record<string, unknown>;

export interface VolumeBackend {
  /** node/quota's escrow: volumes, gigabytes, snapshots are taken on create and released on delete. */
  quota?: Pick<QuotaEscrow, "take" | "release" | "setLimit" | "counter">;
  /** The node that will hold a new volume (default: this node; an AZ other than ours: a node of that AZ). */
  chooseHost?(o: { az?: string; project: string; sizeGiB: number }): string | undefined;
}

export interface VolumeRouteOptions {
  ctx: GatewayContext;
  backend: VolumeBackend;
}

/** The caller, with the URL's project (if any) checked against the token's, as Cinder does. */
export function caller(req: FastifyRequest): AuthContext {
  const a = requireAuth(req);
  const p = (req.params as { project_id?: string } | undefined)?.project_id;
  if (p !== undefined && p !== a.project?.id) throw new InvalidRequestError("Malformed request url");
  return a;
}

export function projectOf(a: AuthContext): string {
  return a.project?.id ?? "";
}

export function findVolume(ctx: GatewayContext, a: AuthContext, id: string): CatalogRecord {
  const v = ctx.store.get(VOLUME, id);
  if (!v || !canAccessProject(a, String(v.project_id))) throw new ItemNotFoundError("volume", id, `Volume ${id} could not be found.`);
  return v;
}

export function findSnapshot(ctx: GatewayContext, a: AuthContext, id: string): CatalogRecord {
  const s = ctx.store.get(SNAPSHOT, id);
  if (!s || !canAccessProject(a, String(s.project_id))) throw new ItemNotFoundError("snapshot", id, `Snapshot ${id} could not be found.`);
  return s;
}

/** Cinder's body check: {"volume": {...}} etc. */
export function bodyOf(req: FastifyRequest, key: string): Obj {
  const b = req.body as Obj | undefined;
  const v = b && typeof b === "object" ? b[key] : undefined;
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new InvalidRequestError(`Invalid input received: Missing required element '${key}' in request body.`);
  return v as Obj;
}

export function optText(o: Obj, field: string, max = 255): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > max) throw new InvalidRequestError(`Invalid input for field/attribute ${field}. Value: ${String(v)}. must be a string of at most ${max} characters`);
  return v;
}

export function metadataOf(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new InvalidRequestError("Invalid input for field/attribute metadata. Value: must be an object");
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string" || k.length < 1 || k.length > 255 || x.length > 255) throw new InvalidRequestError(`Invalid input for field/attribute metadata. Value: ${k}`);
    out[k] = x;
  }
  return out;
}

/** A positive integer size in GiB (Cinder accepts digit strings too). */
export function sizeOf(v: unknown): number {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new InvalidRequestError(`Invalid input received: Volume size '${String(v ?? "None")}' must be an integer and greater than 0`);
  return n;
}

export function boolParam(v: unknown): boolean {
  return v === true || (typeof v === "string" && ["true", "1", "yes", "on"].includes(v.toLowerCase()));
}

const parseMinor = (v: string): number | undefined => {
  const m = /^3\.(\d+)$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
};

/** OpenStack-API-Version: volume 3.x (or latest); echoed back, outside 3.0–max → 406. */
export function useVolumeMicroversions(app: FastifyInstance): void {
  const min = parseMinor(VOLUME_MIN_VERSION)!;
  const max = parseMinor(VOLUME_MAX_VERSION)!;
  app.addHook("onRequest", async (req, reply) => {
    reply.header("Vary", "OpenStack-API-Version");
    const h = req.headers["openstack-api-version"];
    const asked = (Array.isArray(h) ? h : h ? [h] : [])
      .flatMap((x) => x.split(","))
      .map((x) => x.trim().split(/\s+/))
      .find((p) => p[0]?.toLowerCase() === "volume")?.[1];
    let minor = min;
    if (asked && asked.toLowerCase() === "latest") minor = max;
    else if (asked) {
      const m = parseMinor(asked);
      if (m === undefined || m < min || m > max) {
        reply.header("OpenStack-API-Version", `volume ${VOLUME_MIN_VERSION}`);
        throw new VersionNotAcceptableError("volume", asked, VOLUME_MIN_VERSION, VOLUME_MAX_VERSION);
      }
      minor = m;
    }
    reply.header("OpenStack-API-Version", `volume 3.${minor}`);
  });
}
