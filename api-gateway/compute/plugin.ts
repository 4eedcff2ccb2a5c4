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
import { hypervisorRoutes } from "./hypervisors.ts";
import { aggregateRoutes } from "./aggregates.ts";
import { serviceRoutes } from "./services.ts";
import { usageRoutes } from "./usage.ts";
import { instanceActionRoutes } from "./instance-actions.ts";
import { securityGroupProxyRoutes } from "./security-groups.ts";
import { quotaSetRoutes } from "./quota-sets.ts";
import { serverActionRoutes } from "./server-actions.ts";
import type { ServerBackend } from "./server-backend.ts";
import { serverGroupRoutes } from "./server-groups.ts";
import { serverMetadataRoutes } from "./server-metadata.ts";
import { serverRoutes } from "./servers.ts";

export interface ComputeOptions {
  ctx: GatewayContext;
  quotas?: ComputeQuotas;
  /** Placement/quota/ipam/capacity for servers (or attachServerBackend(nodeId, …)). */
  servers?: ServerBackend;
}

export const compute: FastifyPluginAsync<ComputeOptions> = async (app, { ctx, quotas, servers }) => {
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
      await v21.register(serverRoutes, { ctx, servers });
      await v21.register(serverActionRoutes, { ctx, servers });
      await v21.register(serverMetadataRoutes, { ctx, servers });
      await v21.register(serverGroupRoutes, { ctx, quotas: quotas ?? defaultComputeQuotas(ctx) });
      await v21.register(hypervisorRoutes, { ctx, servers });
      await v21.register(aggregateRoutes, { ctx });
      await v21.register(serviceRoutes, { ctx, servers });
      await v21.register(usageRoutes, { ctx });
      await v21.register(instanceActionRoutes, { ctx });
      await v21.register(securityGroupProxyRoutes, { ctx });
      await v21.register(quotaSetRoutes, { ctx, quotas: quotas ?? defaultComputeQuotas(ctx), servers });
    },
    { prefix: "/v2.1" },
  );
};
