// Nova os-server-groups (kind "server_group" {name, policy, rules, project_id, user_id}). Members are the
// servers whose record names the group (group_id, written at create by the placement service).
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { canAccessProject, isAdmin, requireRole } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import { bodyObject, query } from "../identity/http.ts";
import type { CatalogRecord } from "../store.ts";
import type { ComputeQuotas } from "./limits.ts";
import { atLeast } from "./microversion.ts";

export const SERVER_GROUP = "server_group";
const POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"];

export const serverGroupRoutes: FastifyPluginAsync<{ ctx: GatewayContext; quotas: ComputeQuotas }> = async (app, { ctx, quotas }) => {
  const view = (req: FastifyRequest, g: CatalogRecord) => {
    const members = ctx.store.list("server", (s) => s.group_id === g.id).map((s) => s.id).sort();
    const v: Record<string, unknown> = { id: g.id, name: g.name, members };
    if (atLeast(req, 64)) Object.assign(v, { policy: g.policy, rules: g.rules ?? {} });
    else Object.assign(v, { policies: [g.policy], metadata: {} });
    if (atLeast(req, 13)) Object.assign(v, { project_id: g.project_id, user_id: g.user_id });
    return v;
  };
  const find = (req: FastifyRequest, id: string) => {
    const a = requireAuth(req);
    const g = ctx.store.get(SERVER_GROUP, id);
    if (!g || !canAccessProject(a, String(g.project_id))) throw new ItemNotFoundError("server_group", id, `Instance group ${id} could not be found.`);
    return g;
  };

  app.post("/os-server-groups", async (req, reply) => {
    const a = requireAuth(req);
    const project = requireRole(a, "member", "os_compute_api:os-server-groups:create");
    const b = bodyObject(req, "server_group");
    const name = typeof b.name === "string" ? b.name.trim() : "";
    if (!name || name.length > 255) throw new InvalidRequestError("Invalid input for field/attribute name.");
    let policy: string;
    let rules: Record<string, unknown> = {};
    if (atLeast(req, 64)) {
      policy = String(b.policy ?? "");
      if (b.rules !== undefined) {
        rules = (b.rules ?? {}) as Record<string, unknown>;
        const max = rules.max_server_per_host;
        if (max !== undefined && (policy !== "anti-affinity" || !Number.isInteger(Number(max)) || Number(max) < 1)) throw new InvalidRequestError("Invalid input for field/attribute rules: max_server_per_host needs policy anti-affinity and a positive integer");
      }
    } else {
      const p = b.policies;
      if (!Array.isArray(p) || p.length !== 1) throw new InvalidRequestError("Invalid input for field/attribute policies. Value: exactly one policy is required");
      policy = String(p[0]);
    }
    if (!POLICIES.includes(policy)) throw new InvalidRequestError(`Invalid input for field/attribute policy. Value: ${policy}. '${policy}' is not one of ${POLICIES.join(", ")}`);
    const limit = quotas.limits(project).server_groups ?? 10;
    if (ctx.store.list(SERVER_GROUP, (g) => g.project_id === project).length >= limit) return reply.code(403).send({ forbidden: { code: 403, message: "Quota exceeded, too many server groups." } });
    const id = ctx.random.uuid();
    await ctx.store.put(SERVER_GROUP, id, { name, policy, rules, project_id: project, user_id: a.user.id });
    return { server_group: view(req, ctx.store.get(SERVER_GROUP, id)!) };
  });

  app.get("/os-server-groups", async (req) => {
    const a = requireAuth(req);
    const q = query(req);
    const all = isAdmin(a) && q.all_projects !== undefined && q.all_projects !== "false";
    let rows = ctx.store.list(SERVER_GROUP, (g) => all || g.project_id === a.project?.id).sort((x, y) => x.id.localeCompare(y.id));
    const offset = Number(q.offset ?? 0) || 0;
    rows = rows.slice(offset, q.limit !== undefined ? offset + (Number(q.limit) || 0) : undefined);
    return { server_groups: rows.map((g) => view(req, g)) };
  });

  app.get<{ Params: { id: string } }>("/os-server-groups/:id", async (req) => ({ server_group: view(req, find(req, req.params.id)) }));

  app.delete<{ Params: { id: string } }>("/os-server-groups/:id", async (req, reply) => {
    const g = find(req, req.params.id);
    requireRole(requireAuth(req), "member", "os_compute_api:os-server-groups:delete");
    await ctx.store.remove(SERVER_GROUP, g.id);
    return reply.code(204).send();
  });
};
