// Neutron's availability zones (what `openstack availability zone list` reads): every node's az, for
// networks and routers.
import type { FastifyPluginAsync } from "fastify";
import { caller, listResult } from "./common.ts";
import type { NetworkingDeps } from "./plugin.ts";

export const zoneRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx }) => {
  app.get("/availability_zones", async (req) => {
    caller(req);
    const zones = new Set<string>([ctx.node.az ?? "nova"]);
    for (const n of ctx.store.list("node")) if (typeof n.az === "string" && n.az) zones.add(n.az);
    const rows = [...zones].sort().flatMap((name) => ["network", "router"].map((resource) => ({ name, resource, state: "available" })));
    return { availability_zones: listResult(req, rows) };
  });
};
