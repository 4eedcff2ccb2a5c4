// The shared auth hook (fastify-plugin, so it applies to every service): X-Auth-Token → verified
// claims → request.auth {user, project, roles}. Routes are protected unless their config says
// `public: true`; public routes still get request.auth when a valid token is sent.
import fp from "fastify-plugin";
import { APP_CREDENTIAL } from "../identity/model.ts";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { GatewayContext } from "../context.ts";
import { AuthenticationRequiredError, TokenRevokedError } from "../errors.ts";
import type { RoleRef } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import type { TokenClaims } from "./tokens.ts";

export interface AuthContext {
  token: string;
  claims: TokenClaims;
  user: CatalogRecord;
  /** The scoped project; undefined for an unscoped token. */
  project?: CatalogRecord;
  /** Effective roles on the project (implied roles included); empty when unscoped. */
  roles: RoleRef[];
}

declare module "fastify" {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** No token needed (version documents, POST /v3/auth/tokens). */
    public?: boolean;
  }
}

/** Verifies a token and resolves its user, project and current roles (recomputed on every check). */
export async function authenticate(ctx: GatewayContext, token: string): Promise<AuthContext> {
  const claims = await ctx.tokens.verify(token);
  const user = ctx.identity.user(claims.userId);
  if (!user || user.enabled === false) throw new TokenRevokedError("user is gone or disabled");
  if (!claims.projectId) return { token, claims, user, roles: [] };
  const project = ctx.identity.project(claims.projectId);
  if (!project || project.enabled === false) throw new TokenRevokedError("project is gone or disabled");
  let roles: RoleRef[];
  if (claims.appCredId) {
    // An application credential's token: gone with the credential, bounded by its roles.
    const cred = ctx.store.get(APP_CREDENTIAL, claims.appCredId);
    if (!cred || cred.project_id !== project.id || (typeof cred.expires_at_ms === "number" && ctx.clock.now() >= cred.expires_at_ms)) throw new TokenRevokedError("application credential is gone or expired");
    roles = ctx.identity.credentialRoles(cred);
  } else roles = ctx.identity.effectiveRoles(user.id, project.id);
  if (roles.length === 0) throw new TokenRevokedError("user has no role on the project any more");
  return { token, claims, user, project, roles };
}

/** request.auth, or a 401 if the route is public and no token was sent. */
export function requireAuth(req: FastifyRequest): AuthContext {
  if (!req.auth) throw new AuthenticationRequiredError();
  return req.auth;
}

const authPlugin: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  app.decorateRequest("auth", null);
  app.addHook("onRequest", async (req) => {
    const header = req.headers["x-auth-token"];
    const token = Array.isArray(header) ? header[0] : header;
    if (req.routeOptions.config?.public) {
      if (token) req.auth = await authenticate(ctx, token).catch(() => null);
      return;
    }
    if (!token) throw new AuthenticationRequiredError();
    req.auth = await authenticate(ctx, token);
  });
};

export const auth = fp(authPlugin, { name: "peerstack-auth", fastify: "5.x" });
