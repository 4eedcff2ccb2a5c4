// Networking (Neutron v2.0) under /networking: version discovery, extensions, networks, subnets,
// ports, security groups and rules. IP addresses come from node/ipam (per-node escrowed blocks).
// `networking()` without an Ipam uses one over the gateway's store with no transport: this node
// hands out addresses only from blocks it owns (the agent passes a mesh-connected Ipam).
import type { FastifyPluginAsync } from "fastify";
import { Ipam } from "../../node/ipam/ipam.ts";
import type { GatewayContext } from "../context.ts";
import type { ServicePlugin } from "../service-stubs.ts";
import { networkVersions } from "../versions.ts";
import { useNeutronErrors } from "./common.ts";
import { networkRoutes } from "./networks.ts";
import { portRoutes } from "./ports.ts";
import { quotaRoutes } from "./quotas.ts";
import { securityGroupRoutes } from "./security-groups.ts";
import { subnetRoutes } from "./subnets.ts";
import { zoneRoutes } from "./zones.ts";
import { agentRoutes } from "./agents.ts";
import { ipAvailabilityRoutes } from "./ip-availability.ts";

export interface NetworkingDeps {
  ctx: GatewayContext;
  ipam: Ipam;
}

const EXTENSIONS: [string, string][] = [
  ["provider", "Provider Network"],
  ["security-group", "security-group"],
  ["binding", "Port Binding"],
  ["port-security", "Port Security"],
  ["net-mtu", "Network MTU"],
  ["network-ip-availability", "Network IP Availability"],
  ["standard-attr-description", "standard-attr-description"],
  ["standard-attr-revisions", "Resource revision numbers"],
  ["standard-attr-timestamp", "Resource timestamps"],
  ["project-id", "project_id field enabled"],
  ["availability_zone", "Availability Zone"],
  ["default-subnetpools", "Default Subnetpools"],
  ["agent", "agent"],
];

const RESOURCES = ["networks", "subnets", "ports", "security-groups", "security-group-rules"];

/** `ipam`: the node's Ipam, or a factory called with the gateway context when the plugin registers. */
export function networking(opts: { ipam?: Ipam | ((ctx: GatewayContext) => Ipam) } = {}): ServicePlugin {
  const plugin: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
    const ipam = typeof opts.ipam === "function" ? opts.ipam(ctx) : (opts.ipam ?? new Ipam({ store: ctx.store, node: ctx.node.id }));
    useNeutronErrors(app, ctx);
    app.get("/", { config: { public: true } }, async (req) => ({ versions: networkVersions(ctx.baseUrl(req)) }));
    await app.register(
      async (v2) => {
        v2.get("/", { config: { public: true } }, async (req) => ({
          resources: RESOURCES.map((r) => ({ name: r.replace(/s$/, "").replace(/-/g, "_"), collection: r, links: [{ rel: "self", href: `${ctx.baseUrl(req)}/networking/v2.0/${r}` }] })),
        }));
        v2.get("/extensions", async () => ({
          extensions: EXTENSIONS.map(([alias, name]) => ({ alias, name, description: name, links: [], updated: "2013-01-01T00:00:00-00:00" })),
        }));
        v2.get<{ Params: { alias: string } }>("/extensions/:alias", async (req, reply) => {
          const e = EXTENSIONS.find(([alias]) => alias === req.params.alias);
          if (!e) return reply.code(404).send({ NeutronError: { type: "ExtensionNotFound", message: `Extension with alias ${req.params.alias} does not exist`, detail: "" } });
          return { extension: { alias: e[0], name: e[1], description: e[1], links: [], updated: "2013-01-01T00:00:00-00:00" } };
        });
        const deps = { ctx, ipam };
        await v2.register(networkRoutes, deps);
        await v2.register(subnetRoutes, deps);
        await v2.register(portRoutes, deps);
        await v2.register(securityGroupRoutes, deps);
        await v2.register(quotaRoutes, deps);
        await v2.register(zoneRoutes, deps);
        await v2.register(agentRoutes, deps);
        await v2.register(ipAvailabilityRoutes, deps);
      },
      { prefix: "/v2.0" },
    );
  };
  return plugin;
}
