// Compute (Nova v2.1) under /compute: version discovery, microversion negotiation, flavors,
// keypairs, limits, availability zones. Nova error bodies: {"itemNotFound": {"code", "message"}}.
import type { FastifyPluginAsync } from "fastify";
import type { GatewayContext } from "../context.ts";
import { useErrorStyle } from "../error-bodies.ts";
import { computeVersion, computeVersions } from "../versions.ts";
import { flavorAccessRoutes } from "./flavor-access.ts";
import { flavorRoutes } from "./flavors.ts";
import { keypairRoutes } from "./keypairs.ts";
import { defaultComputeQuotas, limitRoutes, type ComputeQuotas } from "./limits.ts";
import { useMicroversions } from "./microversion.ts";

export interface ComputeOptions {
  ctx: GatewayContext;
  quotas?: ComputeQuotas;
}

export const compute: FastifyPluginAsync<ComputeOptions> = async (app, { ctx, quotas }) => {
  useErrorStyle(app, "nova", (req) => `${ctx.baseUrl(req)}/identity`);
  app.get("/", { config: { public: true } }, async (req) => ({ versions: computeVersions(ctx.baseUrl(req)) }));
  await app.register(
    async (v21) => {
      useMicroversions(v21);
      v21.get("/", { config: { public: true } }, async (req) => ({ version: computeVersion(ctx.baseUrl(req)) }));
      await v21.register(flavorRoutes, { ctx });
      await v21.register(flavorAccessRoutes, { ctx });
      await v21.register(keypairRoutes, { ctx });
      await v21.register(limitRoutes, { ctx, quotas: quotas ?? defaultComputeQuotas(ctx) });
    },
    { prefix: "/v2.1" },
  );
};
