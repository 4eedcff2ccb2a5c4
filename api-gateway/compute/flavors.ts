// Nova flavors: list, detail, show, create/update/delete (admin), extra specs.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { isAdmin, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import { bodyObject, optString, query, type Obj } from "../identity/http.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { FLAVOR, flavorDetail, flavorSummary } from "./flavor-model.ts";
import { atLeast } from "./microversion.ts";

function intField(o: Obj, field: string, min: number, fallback?: number): number {
  const raw = o[field];
  if ((raw === undefined || raw === null || raw === "") && fallback !== undefined) return fallback;
  const v = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > 2 ** 31 - 1) {
    throw new InvalidRequestError(`Invalid input for field/attribute ${field}. Value: ${String(raw)}. It must be an integer >= ${min}.`);
  }
  return v;
}

/** Flavors the caller may see: public ones, private ones shared with its project, all for admins. */
export function flavorVisible(auth: AuthContext, f: CatalogRecord): boolean {
  if (f.is_public !== false || isAdmin(auth)) return true;
  return Array.isArray(f.access) && auth.project !== undefined && f.access.includes(auth.project.id);
}

export const flavorRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: FastifyRequest) => ctx.baseUrl(req);
  const find = (req: FastifyRequest, id: string): CatalogRecord => {
    const f = ctx.store.get(FLAVOR, id);
    if (!f || !flavorVisible(requireAuth(req), f)) throw new ItemNotFoundError("flavor", id, `Flavor ${id} could not be found.`);
    return f;
  };

  const list = (req: FastifyRequest): CatalogRecord[] => {
    const a = requireAuth(req);
    const q = query(req);
    // is_public: absent → public (+ own private); "none" (admin) → all; true/false filter.
    const isPublic = q.is_public?.toLowerCase();
    const minRam = q.minRam !== undefined ? Number(q.minRam) : 0;
    const minDisk = q.minDisk !== undefined ? Number(q.minDisk) : 0;
    let flavors = ctx.store.list(FLAVOR, (f) => {
      if (!flavorVisible(a, f)) return false;
      if (isPublic === undefined && f.is_public === false && !(Array.isArray(f.access) && a.project && f.access.includes(a.project.id))) return false;
      if (isPublic === "true" && f.is_public === false) return false;
      if (isPublic === "false" && f.is_public !== false) return false;
      return Number(f.ram) >= minRam && Number(f.disk) >= minDisk;
    });
    const key = q.sort_key ?? "flavorid";
    const dir = q.sort_dir === "desc" ? -1 : 1;
    const field = key === "flavorid" ? "id" : key;
    flavors = flavors.sort((x, y) => {
      const a1 = x[field] as string | number;
      const b1 = y[field] as string | number;
      const c = typeof a1 === "number" && typeof b1 === "number" ? a1 - b1 : String(a1).localeCompare(String(b1), "en", { numeric: true });
      return c * dir;
    });
    if (q.marker !== undefined) {
      const i = flavors.findIndex((f) => f.id === q.marker);
      if (i < 0) throw new InvalidRequestError(`marker [${q.marker}] not found`);
      flavors = flavors.slice(i + 1);
    }
    if (q.limit !== undefined) flavors = flavors.slice(0, Math.max(0, Number(q.limit) || 0));
    return flavors;
  };

  app.get("/flavors", async (req) => ({ flavors: list(req).map((f) => flavorSummary(f, base(req), req.computeMicroversion)) }));
  app.get("/flavors/detail", async (req) => ({ flavors: list(req).map((f) => flavorDetail(f, base(req), req.computeMicroversion)) }));
  app.get<{ Params: { id: string } }>("/flavors/:id", async (req) => ({ flavor: flavorDetail(find(req, req.params.id), base(req), req.computeMicroversion) }));

  app.post("/flavors", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-manage:create");
    const f = bodyObject(req, "flavor");
    const name = optString(f, "name", 255)?.trim();
    if (!name) throw new InvalidRequestError("Invalid input for field/attribute name. 'name' is a required property.");
    let id = f.id === undefined || f.id === null || f.id === "auto" ? ctx.random.uuid() : f.id;
    if (typeof id === "number") id = String(id);
    if (typeof id !== "string" || !/^[\w. -]{1,255}$/.test(id)) throw new InvalidRequestError(`Invalid input for field/attribute id. Value: ${String(f.id)}.`);
    const description = optString(f, "description", 65535);
    if (description !== undefined && !atLeast(req, 55)) throw new InvalidRequestError("Additional properties are not allowed ('description' was unexpected)");
    const fields = {
      name,
      ram: intField(f, "ram", 1),
      vcpus: intField(f, "vcpus", 1),
      disk: intField(f, "disk", 0),
      ephemeral: intField(f, "OS-FLV-EXT-DATA:ephemeral", 0, 0),
      swap: intField(f, "swap", 0, 0),
      rxtx_factor: typeof f.rxtx_factor === "number" && f.rxtx_factor > 0 ? f.rxtx_factor : 1,
      is_public: f["os-flavor-access:is_public"] !== false,
      description: description ?? null,
      extra_specs: {},
      created_at: isoMicro(ctx.clock.now()),
    };
    if (ctx.store.get(FLAVOR, id)) throw new ConflictError(`Flavor with ID ${id} already exists.`);
    if (ctx.store.list(FLAVOR, (x) => x.name === name).length > 0) throw new ConflictError(`Flavor with name ${name} already exists.`);
    await ctx.store.put(FLAVOR, id, fields);
    return { flavor: flavorDetail(find(req, id), base(req), req.computeMicroversion) };
  });

  app.put<{ Params: { id: string } }>("/flavors/:id", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-manage:update");
    if (!atLeast(req, 55)) throw new ItemNotFoundError("route", "PUT /flavors/{id}", "The resource could not be found.");
    find(req, req.params.id);
    const f = bodyObject(req, "flavor");
    if (!("description" in f)) throw new InvalidRequestError("'description' is a required property");
    await ctx.store.put(FLAVOR, req.params.id, { description: optString(f, "description", 65535) ?? null });
    return { flavor: flavorDetail(find(req, req.params.id), base(req), req.computeMicroversion) };
  });

  app.delete<{ Params: { id: string } }>("/flavors/:id", async (req, reply) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-manage:delete");
    find(req, req.params.id);
    await ctx.store.remove(FLAVOR, req.params.id);
    return reply.code(202).send();
  });

  app.get<{ Params: { id: string } }>("/flavors/:id/os-extra_specs", async (req) => ({ extra_specs: find(req, req.params.id).extra_specs ?? {} }));

  app.post<{ Params: { id: string } }>("/flavors/:id/os-extra_specs", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-extra-specs:create");
    const f = find(req, req.params.id);
    const specs = bodyObject(req, "extra_specs");
    for (const [k, v] of Object.entries(specs)) {
      if (!/^[\w.:-]{1,255}$/.test(k) || (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")) throw new InvalidRequestError(`Invalid extra spec "${k}"`);
    }
    const merged = { ...((f.extra_specs as Obj) ?? {}), ...Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, String(v)])) };
    await ctx.store.put(FLAVOR, f.id, { extra_specs: merged });
    return { extra_specs: merged };
  });

  app.delete<{ Params: { id: string; key: string } }>("/flavors/:id/os-extra_specs/:key", async (req, reply) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-extra-specs:delete");
    const f = find(req, req.params.id);
    const specs = { ...((f.extra_specs as Obj) ?? {}) };
    if (!(req.params.key in specs)) throw new ItemNotFoundError("extra spec", req.params.key, `Flavor ${f.id} has no extra specs with key ${req.params.key}.`);
    delete specs[req.params.key];
    await ctx.store.put(FLAVOR, f.id, { extra_specs: specs });
    return reply.code(200).send();
  });
};
