// Keystone v3 application credentials: a user makes a secret that stands for it on the project of the
// token it used, with a subset of its roles there (default: all of them) and an optional expiry. The
// secret is returned once and stored as a scrypt hash. Authenticating with it (method
// "application_credential") gives a token bound to the credential: deleted or expired, its tokens stop;
// a role the user loses goes from them too (api-gateway/auth/plugin.ts). A restricted credential's token
// cannot make more credentials.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth, type AuthContext } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { bodyObject, listLinks, optBool, optString, query, requiredName } from "./http.ts";
import { APP_CREDENTIAL, hexId, isoMicro, parseUtc, ROLE } from "./model.ts";
import { hashPassword } from "./passwords.ts";

export const appCredentialRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: FastifyRequest) => `${ctx.baseUrl(req)}/identity`;
  const view = (req: FastifyRequest, c: CatalogRecord, secret?: string) => ({
    id: c.id,
    name: c.name,
    description: c.description ?? null,
    user_id: c.user_id,
    project_id: c.project_id,
    roles: ((c.roles as string[] | undefined) ?? []).map((id) => ctx.identity.role(id)).filter((r): r is CatalogRecord => r !== undefined).map((r) => ({ id: r.id, name: r.name, domain_id: null })),
    expires_at: typeof c.expires_at_given === "string" ? c.expires_at_given : typeof c.expires_at_ms === "number" ? isoMicro(c.expires_at_ms).replace(/Z$/, "") : null,
    unrestricted: c.unrestricted === true,
    access_rules: [],
    links: { self: `${base(req)}/v3/users/${String(c.user_id)}/application_credentials/${c.id}` },
    ...(secret !== undefined ? { secret } : {}),
  });
  const ownerOrAdmin = (req: FastifyRequest<{ Params: { user: string } }>, action: string): AuthContext => {
    const a = requireAuth(req);
    if (a.user.id !== req.params.user && !isAdmin(a)) throw new PolicyForbiddenError(`identity:${action}`);
    return a;
  };
  const find = (user: string, id: string): CatalogRecord => {
    const c = ctx.store.get(APP_CREDENTIAL, id);
    if (!c || c.user_id !== user) throw new ItemNotFoundError("application credential", id, `Could not find Application Credential: ${id}.`);
    return c;
  };

  app.post<{ Params: { user: string } }>("/users/:user/application_credentials", async (req, reply) => {
    const a = requireAuth(req);
    if (a.user.id !== req.params.user) throw new PolicyForbiddenError("identity:create_application_credential");
    if (!a.project) throw new InvalidRequestError("Application credentials are made with a project-scoped token: they stand for the user on that project.");
    if (a.claims.appCredId && ctx.store.get(APP_CREDENTIAL, a.claims.appCredId)?.unrestricted !== true) {
      throw new PolicyForbiddenError("identity:create_application_credential (a restricted application credential cannot make another)");
    }
    const b = bodyObject(req, "application_credential");
    const name = requiredName(b, "application_credential");
    if (ctx.store.list(APP_CREDENTIAL, (c) => c.user_id === a.user.id && c.name === name).length > 0) throw new ConflictError(`Conflict occurred attempting to store application_credential - Duplicate entry found with name ${name}.`);
    const held = a.roles;
    let roles: string[];
    if (b.roles === undefined || b.roles === null) roles = held.map((r) => r.id);
    else {
      if (!Array.isArray(b.roles)) throw new InvalidRequestError("Invalid input for field 'roles': expected a list of {id} or {name}.");
      roles = (b.roles as Record<string, unknown>[]).map((r) => {
        const role = typeof r?.id === "string" ? ctx.identity.role(r.id) : typeof r?.name === "string" ? ctx.identity.byName(ROLE, r.name) : undefined;
        if (!role || !held.some((h) => h.id === role.id)) throw new InvalidRequestError(`Invalid input for field 'roles': the user does not hold role ${String(r?.id ?? r?.name)} on project ${a.project!.id}.`);
        return role.id;
      });
    }
    let expiresAtMs: number | null = null;
    if (b.expires_at !== undefined && b.expires_at !== null) {
      const t = typeof b.expires_at === "string" ? parseUtc(b.expires_at) : Number.NaN;
      if (!Number.isFinite(t)) throw new InvalidRequestError("Invalid input for field 'expires_at': not an ISO 8601 time.");
      if (t <= ctx.clock.now()) throw new InvalidRequestError("Invalid input for field 'expires_at': the time is in the past.");
      expiresAtMs = t;
    }
    const secret = optString(b, "secret", 4096) ?? Buffer.from(ctx.random.bytes(48)).toString("base64url");
    const id = hexId(ctx.random.uuid());
    await ctx.store.put(APP_CREDENTIAL, id, {
      user_id: a.user.id,
      project_id: a.project.id,
      name,
      description: optString(b, "description", 65535) ?? null,
      secret_hash: await hashPassword(secret, ctx.random, ctx.passwordCost),
      roles,
      expires_at_ms: expiresAtMs,
      // Keystone echoes the naive UTC time with the client's microseconds (Tempest compares the text)
      expires_at_given: typeof b.expires_at === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z?$/.test(b.expires_at) ? b.expires_at.replace(/Z$/, "") : null,
      unrestricted: optBool(b, "unrestricted") ?? false,
      created_at: isoMicro(ctx.clock.now()),
    });
    reply.code(201);
    return { application_credential: view(req, find(a.user.id, id), secret) };
  });

  app.get<{ Params: { user: string } }>("/users/:user/application_credentials", async (req) => {
    ownerOrAdmin(req, "list_application_credentials");
    const q = query(req);
    const list = ctx.store.list(APP_CREDENTIAL, (c) => c.user_id === req.params.user && (q.name === undefined || c.name === q.name));
    return { application_credentials: list.map((c) => view(req, c)), links: listLinks(base(req), `users/${req.params.user}/application_credentials`) };
  });

  app.get<{ Params: { user: string; id: string } }>("/users/:user/application_credentials/:id", async (req) => {
    ownerOrAdmin(req, "get_application_credential");
    return { application_credential: view(req, find(req.params.user, req.params.id)) };
  });

  app.delete<{ Params: { user: string; id: string } }>("/users/:user/application_credentials/:id", async (req, reply) => {
    ownerOrAdmin(req, "delete_application_credential");
    find(req.params.user, req.params.id);
    await ctx.store.remove(APP_CREDENTIAL, req.params.id);
    return reply.code(204).send();
  });
};
