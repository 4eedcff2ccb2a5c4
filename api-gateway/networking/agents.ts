// Neutron agents, read-only (`openstack network agent list`): every host's agent wires its ports into
// Linux bridges and VXLAN and serves DHCP for the networks it has ports on (node/reconciler/ports.ts),
// so each host shows a "Linux bridge agent" and a "DHCP agent", alive while its capacity adverts flow.
import type { FastifyPluginAsync } from "fastify";
import { requireAdmin } from "../auth/policy.ts";
import { ItemNotFoundError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { hostName, hostUp, meshHosts } from "../compute/host-liveness.ts";
import { caller, listResult, uuidFrom, type Obj } from "./common.ts";
import type { NetworkingDeps } from "./plugin.ts";

const KINDS = [
  { agent_type: "Linux bridge agent", binary: "neutron-linuxbridge-agent", topic: "N/A" },
  { agent_type: "DHCP agent", binary: "neutron-dhcp-agent", topic: "dhcp_agent" },
] as const;

export const agentRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx }) => {
  const agents = (): Obj[] =>
    meshHosts(ctx).flatMap((n: CatalogRecord) =>
      KINDS.map((k) => ({
        id: uuidFrom(`agent/${k.binary}/${n.id}`),
        ...k,
        host: hostName(n),
        availability_zone: k.binary === "neutron-dhcp-agent" ? String(n.az ?? "nova") : null,
        admin_state_up: true,
        alive: hostUp(ctx, undefined, n.id),
        description: null,
        configurations: {},
        resources_synced: null,
        created_at: n.created_at ?? null,
        started_at: n.created_at ?? null,
        heartbeat_timestamp: null,
      })),
    );

  app.get("/agents", async (req) => {
    requireAdmin(caller(req), "get_agent");
    return { agents: listResult(req, agents()) };
  });
  app.get<{ Params: { id: string } }>("/agents/:id", async (req) => {
    requireAdmin(caller(req), "get_agent");
    const a = agents().find((x) => x.id === req.params.id);
    if (!a) throw new ItemNotFoundError("agent", req.params.id, `Agent ${req.params.id} could not be found.`);
    return { agent: a };
  });
};
