// Keystone v3 users. Passwords are stored only as scrypt hashes and never returned.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidCredentialsError, InvalidRequestError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { bodyObject, listLinks, optBool, optName, optString, query, queryBool, requiredName, type Obj } from "./http.ts";
import { APP_CREDENTIAL, ASSIGNMENT, DEFAULT_DOMAIN_ID, hexId, isoMicro, MEMBERSHIP, projectView, USER, userView } from "./model.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { newTokenEpoch } from "./token-epoch.ts";

export const userRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: FastifyRequest) => `${ctx.baseUrl(req)}/identity`;
  const find = (id: string): CatalogRecord => {
    const u = ctx.identity.user(id);
    if (!u) throw new ItemNotFoundError("user", id);
    return u;
  };
  const selfOrAdmin = (req: FastifyRequest, id: string, action: string) => {
    const a = requireAuth(req);
    if (a.user.id !== id && !isAdmin(a)) throw new PolicyForbiddenError(action);
  };
  const refuseTaken = (name: string, domainId: string, self?: string) => ctx.identity.refuseTakenName(USER, name, domainId, self);
  /**
   * The password if it differs from the user's current one, else undefined: re-setting the same password
   * (as `peerstack lab up` re-seeds its demo user) must neither rewrite the hash nor end the user's tokens.
   */
  const changedPassword = async (password: string | undefined, current?: CatalogRecord) =>
    password !== undefined && current && (await verifyPassword(password, current.password_hash)) ? undefined : password;
  /** Fields common to create and update (`current`: the user being updated). */
  const userFields = async (u: Obj, current?: CatalogRecord): Promise<Record<string, unknown>> => {
    const fields: Record<string, unknown> = {};
    for (const f of ["description", "email", "default_project_id"]) {
      const v = optString(u, f, 65535);
      if (v !== undefined) fields[f] = v;
    }
    const enabled = optBool(u, "enabled");
    if (enabled !== undefined) fields.enabled = enabled;
    const password = await changedPassword(optString(u, "password", 4096), current);
    if (password !== undefined) fields.password_hash = await hashPassword(password, ctx.random, ctx.passwordCost);
    // A new password or a disable ends every token issued so far, on every node (token-epoch.ts).
    if (password !== undefined || enabled === false) Object.assign(fields, newTokenEpoch(ctx.random));
    return fields;
  };

  app.post("/users", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:create_user");
    const u = bodyObject(req, "user");
    const name = requiredName(u, "user");
    const domainId = optString(u, "domain_id", 64) ?? DEFAULT_DOMAIN_ID;
    if (domainId !== DEFAULT_DOMAIN_ID) throw new ItemNotFoundError("domain", domainId);
    refuseTaken(name, domainId);
    const id = hexId(ctx.random.uuid());
    await ctx.store.put(USER, id, { name, domain_id: domainId, enabled: true, created_at: isoMicro(ctx.clock.now()), ...(await userFields(u)) });
    reply.code(201);
    return { user: userView(find(id), base(req)) };
  });

  app.get("/users", async (req) => {
    requireAdmin(requireAuth(req), "identity:list_users");
    const q = query(req);
    const enabled = queryBool(q.enabled);
    const users = ctx.store.list(USER, (u) => (q.name === undefined || u.name === q.name) && (q.domain_id === undefined || (u.domain_id ?? DEFAULT_DOMAIN_ID) === q.domain_id) && (enabled === undefined || (u.enabled !== false) === enabled));
    return { users: users.map((u) => userView(u, base(req))), links: listLinks(base(req), "users") };
  });

  app.get<{ Params: { id: string } }>("/users/:id", async (req) => {
    selfOrAdmin(req, req.params.id, "identity:get_user");
    return { user: userView(find(req.params.id), base(req)) };
  });

  app.patch<{ Params: { id: string } }>("/users/:id", async (req) => {
    requireAdmin(requireAuth(req), "identity:update_user");
    const current = find(req.params.id);
    const u = bodyObject(req, "user");
    const name = optName(u, "user");
    if (name !== undefined) refuseTaken(name, String(current.domain_id ?? DEFAULT_DOMAIN_ID), current.id);
    const fields = await userFields(u, current);
    if (name !== undefined) fields.name = name;
    if (Object.keys(fields).length > 0) await ctx.store.put(USER, req.params.id, fields);
    return { user: userView(find(req.params.id), base(req)) };
  });

  app.delete<{ Params: { id: string } }>("/users/:id", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:delete_user");
    find(req.params.id);
    for (const a of ctx.store.list(ASSIGNMENT, (r) => r.user === req.params.id)) await ctx.store.remove(ASSIGNMENT, a.id);
    for (const m of ctx.store.list(MEMBERSHIP, (r) => r.user === req.params.id)) await ctx.store.remove(MEMBERSHIP, m.id);
    for (const c of ctx.store.list(APP_CREDENTIAL, (r) => r.user_id === req.params.id)) await ctx.store.remove(APP_CREDENTIAL, c.id);
    await ctx.store.remove(USER, req.params.id);
    return reply.code(204).send();
  });

  // Self-service password change: the caller's own user, proving the current password.
  app.post<{ Params: { id: string } }>("/users/:id/password", async (req, reply) => {
    const a = requireAuth(req);
    if (a.user.id !== req.params.id) throw new PolicyForbiddenError("identity:change_password");
    const u = bodyObject(req, "user");
    const original = optString(u, "original_password", 4096);
    const password = optString(u, "password", 4096);
    if (original === undefined || password === undefined) throw new InvalidRequestError("'password' and 'original_password' are required properties.");
    const current = find(req.params.id);
    if (!(await verifyPassword(original, current.password_hash))) throw new InvalidCredentialsError();
    // The same password again changes nothing (and ends no token).
    if (password !== original) await ctx.store.put(USER, req.params.id, { password_hash: await hashPassword(password, ctx.random, ctx.passwordCost), ...newTokenEpoch(ctx.random) });
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>("/users/:id/projects", async (req) => {
    selfOrAdmin(req, req.params.id, "identity:list_user_projects");
    find(req.params.id);
    return { projects: ctx.identity.projectsOf(req.params.id).map((p) => projectView(p, base(req))), links: listLinks(base(req), `users/${req.params.id}/projects`) };
  });
};
