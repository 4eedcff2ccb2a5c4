// Nova os-flavor-access: which projects may use a private flavor (field "access" of the flavor record).
import type { FastifyPluginAsync } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import type { Obj } from "../identity/http.ts";
import type { CatalogRecord } from "../store.ts";
import { FLAVOR } from "./flavor-model.ts";

export const flavorAccessRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const privateFlavor = (id: string): CatalogRecord => {
    const f = ctx.store.get(FLAVOR, id);
    if (!f) throw new ItemNotFoundError("flavor", id, `Flavor ${id} could not be found.`);
    if (f.is_public !== false) throw new ConflictError(`Access list not available for public flavors.`);
    return f;
  };
  const accessList = (f: CatalogRecord) => ({ flavor_access: ((f.access as string[] | undefined) ?? []).map((tenant_id) => ({ flavor_id: f.id, tenant_id })) });

  app.get<{ Params: { id: string } }>("/flavors/:id/os-flavor-access", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-access");
    return accessList(privateFlavor(req.params.id));
  });

  app.post<{ Params: { id: string } }>("/flavors/:id/action", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-flavor-access:add_tenant_access");
    const body = (req.body ?? {}) as Obj;
    const [action] = Object.keys(body);
    if (action !== "addTenantAccess" && action !== "removeTenantAccess") throw new InvalidRequestError(`Unsupported flavor action "${String(action)}"`);
    const tenant = (body[action] as Obj | undefined)?.tenant;
    if (typeof tenant !== "string" || tenant === "") throw new InvalidRequestError(`${action} needs a tenant`);
    const f = privateFlavor(req.params.id);
    const access = new Set((f.access as string[] | undefined) ?? []);
    if (action === "addTenantAccess") {
      if (access.has(tenant)) throw new ConflictError(`Flavor access already exists for flavor ${f.id} and project ${tenant} combination.`);
      access.add(tenant);
    } else {
      if (!access.has(tenant)) throw new ItemNotFoundError("flavor access", tenant, `Flavor access not found for ${f.id} / ${tenant} combination.`);
      access.delete(tenant);
    }
    await ctx.store.put(FLAVOR, f.id, { access: [...access].sort() });
    return accessList(ctx.store.get(FLAVOR, f.id)!);
  });
};
