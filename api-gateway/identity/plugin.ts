// Identity (Keystone v3) under /identity: version discovery, /v3/auth/*, projects, domains, users,
// roles and grants. Keystone error bodies: {"error": {"code", "title", "message"}}.
import type { FastifyPluginAsync } from "fastify";
import type { GatewayContext } from "../context.ts";
import { useErrorStyle } from "../error-bodies.ts";
import { identityVersion } from "../versions.ts";
import { authRoutes } from "./auth-routes.ts";
import { endpointRoutes } from "./endpoints.ts";
import { projectRoutes } from "./projects.ts";
import { roleRoutes } from "./roles.ts";
import { userRoutes } from "./users.ts";
import { groupRoutes } from "./groups.ts";
import { appCredentialRoutes } from "./app-credentials.ts";

export const identity: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  useErrorStyle(app, "keystone", (req) => `${ctx.baseUrl(req)}/identity`);
  // Discovery: 300 Multiple Choices with the list, as Keystone answers at its root.
  app.get("/", { config: { public: true } }, async (req, reply) => {
    reply.code(300);
    return { versions: { values: [identityVersion(ctx.baseUrl(req))] } };
  });
  await app.register(
    async (v3) => {
      // "/" under a prefix answers both /identity/v3 and /identity/v3/, whatever the host's router options.
      v3.get("/", { config: { public: true } }, async (req) => ({ version: identityVersion(ctx.baseUrl(req)) }));
      await v3.register(authRoutes, { ctx });
      await v3.register(projectRoutes, { ctx });
      await v3.register(userRoutes, { ctx });
      await v3.register(roleRoutes, { ctx });
      await v3.register(groupRoutes, { ctx });
      await v3.register(appCredentialRoutes, { ctx });
      await v3.register(endpointRoutes, { ctx });
    },
    { prefix: "/v3" },
  );
};
