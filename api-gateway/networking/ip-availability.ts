// Neutron network-ip-availability (admin, as Neutron's default policy): per network and subnet, the
// addresses of the allocation pools (total_ips) and those ports hold (used_ips). The extension was
// listed before the route existed: `openstack ip availability list` answered 404.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAdmin } from "../auth/policy.ts";
import { ItemNotFoundError } from "../errors.ts";
import { parseIp } from "../../node/ipam/cidr.ts";
import type { CatalogRecord } from "../store.ts";
import { caller, queryLists, type Obj } from "./common.ts";
import { NETWORK, PORT, SUBNET } from "./networks.ts";
import type { NetworkingDeps } from "./plugin.ts";

/** Addresses in a subnet's allocation pools. */
function poolSize(subnet: CatalogRecord): number {
  let n = 0;
  for (const p of (subnet.allocation_pools as { start: string; end: string }[] | undefined) ?? []) {
    const [a, b] = [parseIp(p.start), parseIp(p.end)];
    if (a !== undefined && b !== undefined && b >= a) n += b - a + 1;
  }
  return n;
}

export const ipAvailabilityRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx }) => {
  function availability(net: CatalogRecord): Obj {
    const subnets = ctx.store.list(SUBNET, (s) => s.network_id === net.id).sort((a, b) => a.id.localeCompare(b.id));
    const used = new Map<string, number>();
    for (const p of ctx.store.list(PORT, (x) => x.network_id === net.id)) {
      for (const f of (p.fixed_ips as { subnet_id?: string }[] | undefined) ?? []) if (f.subnet_id) used.set(f.subnet_id, (used.get(f.subnet_id) ?? 0) + 1);
    }
    const rows = subnets.map((s) => ({ subnet_id: s.id, subnet_name: s.name ?? "", cidr: s.cidr, ip_version: s.ip_version ?? 4, total_ips: poolSize(s), used_ips: used.get(s.id) ?? 0 }));
    return {
      network_id: net.id,
      network_name: net.name ?? "",
      project_id: net.project_id,
      tenant_id: net.project_id,
      total_ips: rows.reduce((a, r) => a + r.total_ips, 0),
      used_ips: rows.reduce((a, r) => a + r.used_ips, 0),
      subnet_ip_availability: rows,
    };
  }
  const admin = (req: FastifyRequest) => requireAdmin(caller(req), "get_network_ip_availability");

  app.get("/network-ip-availabilities", async (req) => {
    admin(req);
    const q = queryLists(req);
    const ipVersion = q.get("ip_version");
    // Neutron's filters here: network_id, network_name, project_id/tenant_id, ip_version (of the subnets).
    const keep = (n: Obj) =>
      (["network_id", "network_name", "project_id", "tenant_id"] as const).every((k) => !q.has(k) || q.get(k)!.includes(String(n[k])));
    const views = ctx.store
      .list(NETWORK)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map(availability)
      .filter(keep)
      .map((n) => (ipVersion ? { ...n, subnet_ip_availability: (n.subnet_ip_availability as Obj[]).filter((s) => ipVersion.includes(String(s.ip_version))) } : n));
    return { network_ip_availabilities: views };
  });

  app.get<{ Params: { id: string } }>("/network-ip-availabilities/:id", async (req) => {
    admin(req);
    const net = ctx.store.get(NETWORK, req.params.id);
    if (!net) throw new ItemNotFoundError("network", req.params.id, `Network ${req.params.id} could not be found.`);
    return { network_ip_availability: availability(net) };
  });
};
