// /v3/auth/*: issue (POST), validate (GET/HEAD), revoke (DELETE) tokens; the caller's catalog and projects.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth, authenticate, type AuthContext } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { TokenClaims } from "../auth/tokens.ts";
import type { GatewayContext } from "../context.ts";
import { AuthenticationRequiredError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { authenticateRequest } from "./authenticate.ts";
import { serviceCatalog } from "./catalog.ts";
import { APP_CREDENTIAL, DEFAULT_DOMAIN, isoMicro, projectView, type RoleRef } from "./model.ts";

const domainRef = { id: DEFAULT_DOMAIN.id, name: DEFAULT_DOMAIN.name };

function tokenBody(ctx: GatewayContext, req: FastifyRequest, t: { claims: TokenClaims; user: CatalogRecord; project?: CatalogRecord; roles: RoleRef[] }, withCatalog: boolean): unknown {
  const token: Record<string, unknown> = {
    methods: t.claims.methods,
    user: { domain: domainRef, id: t.user.id, name: t.user.name, password_expires_at: null },
    audit_ids: t.claims.auditIds,
    expires_at: isoMicro(t.claims.expiresAtMs),
    issued_at: isoMicro(t.claims.issuedAtMs),
  };
  if (t.project) {
    token.project = { domain: domainRef, id: t.project.id, name: t.project.name };
    token.is_domain = false;
    token.roles = t.roles.map((r) => ({ id: r.id, name: r.name }));
    if (withCatalog) token.catalog = serviceCatalog(t.claims.issuer, ctx.baseUrl(req), ctx.region);
    const cred = t.claims.appCredId ? ctx.store.get(APP_CREDENTIAL, t.claims.appCredId) : undefined;
    if (cred) token.application_credential = { id: cred.id, name: cred.name, restricted: cred.unrestricted !== true };
  } else if (withCatalog) {
    token.catalog = [];
  }
  return { token };
}

const subjectOf = (req: FastifyRequest): string => {
  const h = req.headers["x-subject-token"];
  const t = Array.isArray(h) ? h[0] : h;
  if (!t) throw new ItemNotFoundError("token", "", "Could not find token: X-Subject-Token header missing.");
  return t;
};

/** The subject token, which only its own user or an admin may inspect or revoke. */
async function subject(ctx: GatewayContext, req: FastifyRequest, caller: AuthContext): Promise<AuthContext> {
  const token = subjectOf(req);
  let s: AuthContext;
  try {
    s = await authenticate(ctx, token);
  } catch (err) {
    if (err instanceof AuthenticationRequiredError || (err as { code?: string }).code?.startsWith("TOKEN_")) {
      throw new ItemNotFoundError("token", "", `Could not find token: ${token.slice(0, 16)}….`);
    }
    throw err;
  }
  if (s.user.id !== caller.user.id && !isAdmin(caller)) throw new PolicyForbiddenError("identity:validate_token");
  return s;
}

export const authRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  app.post("/auth/tokens", { config: { public: true } }, async (req, reply) => {
    const h = req.headers["x-auth-token"];
    const r = await authenticateRequest(ctx, req.body, Array.isArray(h) ? h[0] : h);
    const { token, claims } = await ctx.tokens.issue({
      userId: r.user.id,
      projectId: r.project?.id,
      methods: r.methods,
      parentAuditId: r.parent?.auditIds[0],
      expiresAtMs: r.appCred && typeof r.appCred.expires_at_ms === "number" ? Math.min(r.appCred.expires_at_ms, ctx.clock.now() + ctx.tokens.ttlSec * 1000) : r.parent?.expiresAtMs,
      appCredId: r.appCred?.id,
    });
    const roles = r.appCred ? ctx.identity.credentialRoles(r.appCred) : r.project ? ctx.identity.effectiveRoles(r.user.id, r.project.id) : [];
    const nocatalog = (req.query as Record<string, unknown>).nocatalog !== undefined;
    reply.code(201).header("X-Subject-Token", token);
    return tokenBody(ctx, req, { claims, user: r.user, project: r.project, roles }, !nocatalog);
  });

  app.head("/auth/tokens", async (req, reply) => {
    await subject(ctx, req, requireAuth(req));
    return reply.code(200).send();
  });

  app.get("/auth/tokens", async (req, reply) => {
    const s = await subject(ctx, req, requireAuth(req));
    const nocatalog = (req.query as Record<string, unknown>).nocatalog !== undefined;
    reply.header("X-Subject-Token", s.token);
    return tokenBody(ctx, req, s, !nocatalog);
  });

  app.delete("/auth/tokens", async (req, reply) => {
    const s = await subject(ctx, req, requireAuth(req));
    await ctx.tokens.revoke(s.claims);
    return reply.code(204).send();
  });

  app.get("/auth/catalog", async (req) => {
    const a = requireAuth(req);
    const base = ctx.baseUrl(req);
    return { catalog: a.project ? serviceCatalog(ctx.node.id, base, ctx.region) : [], links: { self: `${base}/identity/v3/auth/catalog`, previous: null, next: null } };
  });

  app.get("/auth/projects", async (req) => {
    const a = requireAuth(req);
    const base = `${ctx.baseUrl(req)}/identity`;
    return { projects: ctx.identity.projectsOf(a.user.id).map((p) => projectView(p, base)), links: { self: `${base}/v3/auth/projects`, previous: null, next: null } };
  });

  app.get("/auth/domains", async (req) => {
    requireAuth(req);
    return { domains: [], links: { self: `${ctx.baseUrl(req)}/identity/v3/auth/domains`, previous: null, next: null } };
  });
};
