// Keystone v3 roles, project role grants and GET /v3/role_assignments.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { bodyObject, listLinks, optString, query, requiredName } from "./http.ts";
import { ASSIGNMENT, assignmentId, DEFAULT_DOMAIN, GROUP, groupAssignmentId, hexId, isoMicro, MEMBERSHIP, ROLE, roleView } from "./model.ts";

interface GrantParams {
  project: string;
  user: string;
  role: string;
}

export const roleRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: FastifyRequest) => `${ctx.baseUrl(req)}/identity`;
  const find = (id: string): CatalogRecord => {
    const r = ctx.identity.role(id);
    if (!r) throw new ItemNotFoundError("role", id);
    return r;
  };
  const grantParts = (p: GrantParams) => {
    if (!ctx.identity.project(p.project)) throw new ItemNotFoundError("project", p.project);
    if (!ctx.identity.user(p.user)) throw new ItemNotFoundError("user", p.user);
    find(p.role);
    return assignmentId(p.project, p.user, p.role);
  };

  app.post("/roles", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:create_role");
    const r = bodyObject(req, "role");
    const name = requiredName(r, "role");
    if (ctx.identity.byName(ROLE, name)) throw new ConflictError(`Conflict occurred attempting to store role - Duplicate entry found with name ${name}.`);
    const id = hexId(ctx.random.uuid());
    await ctx.store.put(ROLE, id, { name, description: optString(r, "description", 65535) ?? null, created_at: isoMicro(ctx.clock.now()) });
    reply.code(201);
    return { role: roleView(find(id), base(req)) };
  });

  app.get("/roles", async (req) => {
    requireAuth(req);
    const q = query(req);
    const roles = ctx.store.list(ROLE, (r) => q.name === undefined || r.name === q.name);
    return { roles: roles.map((r) => roleView(r, base(req))), links: listLinks(base(req), "roles") };
  });

  app.get<{ Params: { id: string } }>("/roles/:id", async (req) => {
    requireAuth(req);
    return { role: roleView(find(req.params.id), base(req)) };
  });

  app.delete<{ Params: { id: string } }>("/roles/:id", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:delete_role");
    find(req.params.id);
    for (const a of ctx.store.list(ASSIGNMENT, (r) => r.role === req.params.id)) await ctx.store.remove(ASSIGNMENT, a.id);
    await ctx.store.remove(ROLE, req.params.id);
    return reply.code(204).send();
  });

  app.put<{ Params: GrantParams }>("/projects/:project/users/:user/roles/:role", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:create_grant");
    const id = grantParts(req.params);
    await ctx.store.put(ASSIGNMENT, id, { project: req.params.project, user: req.params.user, role: req.params.role });
    return reply.code(204).send();
  });

  const checkGrant = async (req: FastifyRequest<{ Params: GrantParams }>, reply: import("fastify").FastifyReply) => {
    requireAdmin(requireAuth(req), "identity:check_grant");
    const id = grantParts(req.params);
    if (!ctx.store.get(ASSIGNMENT, id)) throw new ItemNotFoundError("role assignment", id, `Could not find role assignment with role: ${req.params.role}, user or group: ${req.params.user}, project, domain, or system: ${req.params.project}.`);
    return reply.code(204).send();
  };
  app.head<{ Params: GrantParams }>("/projects/:project/users/:user/roles/:role", checkGrant);
  app.get<{ Params: GrantParams }>("/projects/:project/users/:user/roles/:role", checkGrant);

  app.delete<{ Params: GrantParams }>("/projects/:project/users/:user/roles/:role", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:revoke_grant");
    const id = grantParts(req.params);
    if (!ctx.store.get(ASSIGNMENT, id)) throw new ItemNotFoundError("role assignment", id);
    await ctx.store.remove(ASSIGNMENT, id);
    return reply.code(204).send();
  });

  app.get<{ Params: { project: string; user: string } }>("/projects/:project/users/:user/roles", async (req) => {
    requireAdmin(requireAuth(req), "identity:list_grants");
    const roles = ctx.identity.directRoles(req.params.user, req.params.project).map((r) => roleView(find(r.id), base(req)));
    return { roles, links: listLinks(base(req), `projects/${req.params.project}/users/${req.params.user}/roles`) };
  });

  app.get("/role_assignments", async (req) => {
    const a = requireAuth(req);
    const q = query(req);
    // Non-admins may list their own assignments only.
    if (!isAdmin(a) && q["user.id"] !== a.user.id) throw new PolicyForbiddenError("identity:list_role_assignments");
    if (q["scope.domain.id"] !== undefined || q["scope.system"] !== undefined) {
      return { role_assignments: [], links: listLinks(base(req), "role_assignments") };
    }
    const names = q.include_names !== undefined && q.include_names !== "false" && q.include_names !== "0";
    const effective = q.effective !== undefined && q.effective !== "false" && q.effective !== "0";
    // Rows are {project, role} with a user or (not effective) a group; effective expands a group's grant to its members.
    const rows: { project: string; user?: string; group?: string; role: string }[] = [];
    const inScope = (x: CatalogRecord) => q["scope.project.id"] === undefined || x.project === q["scope.project.id"];
    for (const r of ctx.store.list(ASSIGNMENT, inScope)) {
      const project = String(r.project);
      if (typeof r.group === "string") {
        if (q["group.id"] !== undefined && r.group !== q["group.id"]) continue;
        if (!effective) {
          if (q["user.id"] === undefined) rows.push({ project, group: r.group, role: String(r.role) });
          continue;
        }
        for (const m of ctx.store.list(MEMBERSHIP, (x) => x.group === r.group && (q["user.id"] === undefined || x.user === q["user.id"]))) {
          for (const role of ctx.identity.effectiveRoles(String(m.user), project)) rows.push({ project, user: String(m.user), role: role.id });
        }
        continue;
      }
      if (q["group.id"] !== undefined || (q["user.id"] !== undefined && r.user !== q["user.id"])) continue;
      const user = String(r.user);
      const roles = effective ? ctx.identity.effectiveRoles(user, project).map((x) => x.id) : [String(r.role)];
      for (const role of roles) rows.push({ project, user, role });
    }
    const seen = new Set<string>();
    const out = [];
    const domain = { id: DEFAULT_DOMAIN.id, name: DEFAULT_DOMAIN.name };
    for (const row of rows) {
      const key = row.group !== undefined ? groupAssignmentId(row.project, row.group, row.role) : assignmentId(row.project, String(row.user), row.role);
      if (seen.has(key) || (q["role.id"] !== undefined && row.role !== q["role.id"])) continue;
      seen.add(key);
      const role = ctx.identity.role(row.role);
      const project = ctx.identity.project(row.project);
      if (!role || !project) continue;
      const scope = { project: names ? { id: project.id, name: project.name, domain } : { id: project.id } };
      const roleRef = names ? { id: role.id, name: role.name } : { id: role.id };
      if (row.group !== undefined) {
        const group = ctx.store.get(GROUP, row.group);
        if (!group) continue;
        out.push({ role: roleRef, group: names ? { id: group.id, name: group.name, domain } : { id: group.id }, scope, links: { assignment: `${base(req)}/v3/projects/${project.id}/groups/${group.id}/roles/${role.id}` } });
        continue;
      }
      const user = ctx.identity.user(String(row.user));
      if (!user) continue;
      out.push({
        role: roleRef,
        user: names ? { id: user.id, name: user.name, domain } : { id: user.id },
        scope,
        links: { assignment: `${base(req)}/v3/projects/${project.id}/users/${user.id}/roles/${role.id}` },
      });
    }
    return { role_assignments: out, links: listLinks(base(req), "role_assignments") };
  });
};
