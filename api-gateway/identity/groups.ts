// Keystone v3 groups: CRUD, membership, and project role grants to groups (a member holds the group's
// roles on that project: tokens, scoping and role_assignments?effective count them,
// api-gateway/identity/model.ts grantedRoles). Admin only, except a user listing its own groups.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { bodyObject, listLinks, optName, optString, query, requiredName } from "./http.ts";
import { ASSIGNMENT, DEFAULT_DOMAIN_ID, GROUP, groupAssignmentId, groupView, hexId, isoMicro, MEMBERSHIP, membershipId, roleView, userView } from "./model.ts";

export const groupRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: FastifyRequest) => `${ctx.baseUrl(req)}/identity`;
  const admin = (req: FastifyRequest, action: string) => requireAdmin(requireAuth(req), `identity:${action}`);
  const find = (id: string): CatalogRecord => {
    const g = ctx.store.get(GROUP, id);
    if (!g) throw new ItemNotFoundError("group", id, `Could not find group: ${id}.`);
    return g;
  };
  const user = (id: string): CatalogRecord => {
    const u = ctx.identity.user(id);
    if (!u) throw new ItemNotFoundError("user", id, `Could not find user: ${id}.`);
    return u;
  };
  const members = (groupId: string) => ctx.store.list(MEMBERSHIP, (m) => m.group === groupId);

  app.post("/groups", async (req, reply) => {
    admin(req, "create_group");
    const g = bodyObject(req, "group");
    const name = requiredName(g, "group");
    const domainId = optString(g, "domain_id", 64) ?? DEFAULT_DOMAIN_ID;
    if (domainId !== DEFAULT_DOMAIN_ID) throw new ItemNotFoundError("domain", domainId);
    ctx.identity.refuseTakenName(GROUP, name, domainId);
    const id = hexId(ctx.random.uuid());
    await ctx.store.put(GROUP, id, { name, domain_id: domainId, description: optString(g, "description", 65535) ?? "", created_at: isoMicro(ctx.clock.now()) });
    reply.code(201);
    return { group: groupView(find(id), base(req)) };
  });

  app.get("/groups", async (req) => {
    admin(req, "list_groups");
    const q = query(req);
    const groups = ctx.store.list(GROUP, (g) => (q.name === undefined || g.name === q.name) && (q.domain_id === undefined || (g.domain_id ?? DEFAULT_DOMAIN_ID) === q.domain_id));
    return { groups: groups.map((g) => groupView(g, base(req))), links: listLinks(base(req), "groups") };
  });

  app.get<{ Params: { id: string } }>("/groups/:id", async (req) => {
    admin(req, "get_group");
    return { group: groupView(find(req.params.id), base(req)) };
  });

  app.patch<{ Params: { id: string } }>("/groups/:id", async (req) => {
    admin(req, "update_group");
    const current = find(req.params.id);
    const g = bodyObject(req, "group");
    const fields: Record<string, unknown> = {};
    const name = optName(g, "group");
    if (name !== undefined) {
      ctx.identity.refuseTakenName(GROUP, name, String(current.domain_id ?? DEFAULT_DOMAIN_ID), current.id);
      fields.name = name;
    }
    const description = optString(g, "description", 65535);
    if (description !== undefined) fields.description = description;
    if (Object.keys(fields).length > 0) await ctx.store.put(GROUP, req.params.id, fields);
    return { group: groupView(find(req.params.id), base(req)) };
  });

  app.delete<{ Params: { id: string } }>("/groups/:id", async (req, reply) => {
    admin(req, "delete_group");
    find(req.params.id);
    for (const m of members(req.params.id)) await ctx.store.remove(MEMBERSHIP, m.id);
    for (const a of ctx.store.list(ASSIGNMENT, (r) => r.group === req.params.id)) await ctx.store.remove(ASSIGNMENT, a.id);
    await ctx.store.remove(GROUP, req.params.id);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>("/groups/:id/users", async (req) => {
    admin(req, "list_users_in_group");
    find(req.params.id);
    const users = members(req.params.id).map((m) => ctx.identity.user(String(m.user))).filter((u): u is CatalogRecord => u !== undefined);
    return { users: users.map((u) => userView(u, base(req))), links: listLinks(base(req), `groups/${req.params.id}/users`) };
  });

  app.put<{ Params: { id: string; user: string } }>("/groups/:id/users/:user", async (req, reply) => {
    admin(req, "add_user_to_group");
    find(req.params.id);
    user(req.params.user);
    await ctx.store.put(MEMBERSHIP, membershipId(req.params.id, req.params.user), { group: req.params.id, user: req.params.user });
    return reply.code(204).send();
  });

  const checkMember = async (req: FastifyRequest<{ Params: { id: string; user: string } }>, reply: FastifyReply) => {
    admin(req, "check_user_in_group");
    find(req.params.id);
    user(req.params.user);
    if (!ctx.store.get(MEMBERSHIP, membershipId(req.params.id, req.params.user))) throw new ItemNotFoundError("user", req.params.user, `${req.params.user} is not a member of group ${req.params.id}.`);
    return reply.code(204).send();
  };
  app.head<{ Params: { id: string; user: string } }>("/groups/:id/users/:user", checkMember);
  app.get<{ Params: { id: string; user: string } }>("/groups/:id/users/:user", checkMember);

  app.delete<{ Params: { id: string; user: string } }>("/groups/:id/users/:user", async (req, reply) => {
    admin(req, "remove_user_from_group");
    const id = membershipId(req.params.id, req.params.user);
    if (!ctx.store.get(MEMBERSHIP, id)) throw new ItemNotFoundError("user", req.params.user, `${req.params.user} is not a member of group ${req.params.id}.`);
    await ctx.store.remove(MEMBERSHIP, id);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>("/users/:id/groups", async (req) => {
    const a = requireAuth(req);
    if (a.user.id !== req.params.id && !isAdmin(a)) throw new PolicyForbiddenError("identity:list_groups_for_user");
    user(req.params.id);
    const groups = ctx.identity.groupsOf(req.params.id).map((g) => find(g));
    return { groups: groups.map((g) => groupView(g, base(req))), links: listLinks(base(req), `users/${req.params.id}/groups`) };
  });

  // Project role grants to a group.
  type GrantParams = { project: string; group: string; role: string };
  const grant = (p: GrantParams) => {
    if (!ctx.identity.project(p.project)) throw new ItemNotFoundError("project", p.project);
    find(p.group);
    if (!ctx.identity.role(p.role)) throw new ItemNotFoundError("role", p.role);
    return groupAssignmentId(p.project, p.group, p.role);
  };
  app.put<{ Params: GrantParams }>("/projects/:project/groups/:group/roles/:role", async (req, reply) => {
    admin(req, "create_grant");
    await ctx.store.put(ASSIGNMENT, grant(req.params), { project: req.params.project, group: req.params.group, role: req.params.role });
    return reply.code(204).send();
  });
  const checkGrant = async (req: FastifyRequest<{ Params: GrantParams }>, reply: FastifyReply) => {
    admin(req, "check_grant");
    const id = grant(req.params);
    if (!ctx.store.get(ASSIGNMENT, id)) throw new ItemNotFoundError("role assignment", id, `Could not find role assignment with role: ${req.params.role}, user or group: ${req.params.group}, project, domain, or system: ${req.params.project}.`);
    return reply.code(204).send();
  };
  app.head<{ Params: GrantParams }>("/projects/:project/groups/:group/roles/:role", checkGrant);
  app.get<{ Params: GrantParams }>("/projects/:project/groups/:group/roles/:role", checkGrant);
  app.delete<{ Params: GrantParams }>("/projects/:project/groups/:group/roles/:role", async (req, reply) => {
    admin(req, "revoke_grant");
    const id = grant(req.params);
    if (!ctx.store.get(ASSIGNMENT, id)) throw new ItemNotFoundError("role assignment", id);
    await ctx.store.remove(ASSIGNMENT, id);
    return reply.code(204).send();
  });
  app.get<{ Params: { project: string; group: string } }>("/projects/:project/groups/:group/roles", async (req) => {
    admin(req, "list_grants");
    find(req.params.group);
    const roles = ctx.store
      .list(ASSIGNMENT, (r) => r.project === req.params.project && r.group === req.params.group)
      .map((r) => ctx.identity.role(String(r.role)))
      .filter((r): r is CatalogRecord => r !== undefined);
    return { roles: roles.map((r) => roleView(r, base(req))), links: listLinks(base(req), `projects/${req.params.project}/groups/${req.params.group}/roles`) };
  });
};
