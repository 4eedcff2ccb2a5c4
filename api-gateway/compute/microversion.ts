// Nova microversions: `OpenStack-API-Version: compute 2.61` or `X-OpenStack-Nova-API-Version: 2.61`
// ("latest" = the maximum; absent = 2.1). Echoed on every response with Vary.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { InvalidRequestError, VersionNotAcceptableError } from "../errors.ts";
import { COMPUTE_MAX_VERSION, COMPUTE_MIN_VERSION } from "../versions.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The negotiated Nova microversion's minor number (2.x); 1 when none was asked for. */
    computeMicroversion: number;
  }
}

const minor = (v: string) => Number(v.split(".")[1]);
const MIN = minor(COMPUTE_MIN_VERSION);
const MAX = minor(COMPUTE_MAX_VERSION);

function header(req: FastifyRequest, name: string): string | undefined {
  const h = req.headers[name];
  return Array.isArray(h) ? h.join(",") : h;
}

/** The version asked for, from the new header (for service "compute") or the legacy one. */
export function askedVersion(req: FastifyRequest): string | undefined {
  const generic = header(req, "openstack-api-version");
  if (generic) {
    for (const part of generic.split(",")) {
      const [service, version] = part.trim().split(/\s+/);
      if (service?.toLowerCase() === "compute" && version) return version;
    }
  }
  return header(req, "x-openstack-nova-api-version")?.trim() || undefined;
}

export function negotiate(asked: string | undefined): number {
  if (asked === undefined) return MIN;
  if (asked.toLowerCase() === "latest") return MAX;
  const m = /^(\d+)\.(\d+)$/.exec(asked);
  if (!m) throw new InvalidRequestError(`API Version String ${asked} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const v = Number(m[2]);
  if (Number(m[1]) !== 2 || v < MIN || v > MAX) throw new VersionNotAcceptableError("compute", asked, COMPUTE_MIN_VERSION, COMPUTE_MAX_VERSION);
  return v;
}

/** Does the request's microversion reach 2.`min`? */
export function atLeast(req: FastifyRequest, min: number): boolean {
  return req.computeMicroversion >= min;
}

/** Adds negotiation to every route of the (encapsulated) compute context. */
export function useMicroversions(app: FastifyInstance): void {
  app.decorateRequest("computeMicroversion", MIN);
  app.addHook("onRequest", async (req, reply) => {
    reply.header("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    const v = negotiate(askedVersion(req));
    req.computeMicroversion = v;
    reply.header("OpenStack-API-Version", `compute 2.${v}`);
    reply.header("X-OpenStack-Nova-API-Version", `2.${v}`);
  });
}
