// Neutron subnets (kind "subnet"), IPv4 only. A subnet's address blocks start out owned by the node
// that created it (`ipam_home`, see node/ipam/ipam.ts); the DHCP address (first pool address when
// enable_dhcp) and the gateway are never handed out.
import type { FastifyPluginAsync } from "fastify";
import { InvalidAddressError, checkPools, defaultPools, formatIp, isHost, overlaps, parseCidr, parseIp, type Pool } from "../../node/ipam/cidr.ts";
import type { CatalogRecord } from "../store.ts";
import { badRequest, body, bool, caller, inUse, listResult, listable, nowIso, onlyKnown, owningProject, requireWrite, standard, str, visible, withFields, type Obj } from "./common.ts";
import { NETWORK, PORT, SUBNET } from "./networks.ts";
import type { NetworkingDeps } from "./plugin.ts";

const UPDATABLE = ["name", "description", "dns_nameservers", "host_routes", "enable_dhcp", "tags"];
const CREATE = [...UPDATABLE, "network_id", "cidr", "ip_version", "gateway_ip", "allocation_pools", "project_id", "tenant_id", "ipv6_address_mode", "ipv6_ra_mode", "subnetpool_id", "prefixlen", "segment_id", "service_types", "use_default_subnetpool", "dns_publish_fixed_ip"];

export function subnetView(s: CatalogRecord): Obj {
  return {
    id: s.id,
    name: s.name ?? "",
    network_id: s.network_id,
    ip_version: 4,
    cidr: s.cidr,
    gateway_ip: s.gateway_ip ?? null,
    allocation_pools: s.allocation_pools ?? [],
    enable_dhcp: s.enable_dhcp ?? true,
    dns_nameservers: s.dns_nameservers ?? [],
    host_routes: s.host_routes ?? [],
    ipv6_address_mode: null,
    ipv6_ra_mode: null,
    subnetpool_id: null,
    segment_id: null,
    service_types: [],
    dns_publish_fixed_ip: false,
    ...standard(s),
  };
}

function addresses(o: Obj, field: string): string[] | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => parseIp(x) === undefined)) throw badRequest(`Invalid input for ${field}. Reason: expected a list of IPv4 addresses.`);
  return v as string[];
}

/** A route destination is any aligned IPv4 prefix, /0 to /32 (a host route is /32; parseCidr's subnet rule of at most /30 is for subnets). */
function isRouteDestination(v: unknown): boolean {
  const m = typeof v === "string" ? /^([^/]+)\/(\d{1,2})$/.exec(v) : null;
  const ip = m ? parseIp(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) return false;
  return ip % 2 ** (32 - prefix) === 0;
}

function hostRoutes(o: Obj): { destination: string; nexthop: string }[] | undefined {
  const v = o.host_routes;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw badRequest("Invalid input for host_routes. Reason: expected a list of {destination, nexthop}.");
  return v.map((r: Obj) => {
    if (!isRouteDestination(r?.destination)) throw badRequest(`Invalid input for host_routes. Reason: '${String(r?.destination)}' is not a valid destination CIDR.`);
    if (parseIp(r.nexthop) === undefined) throw badRequest(`Invalid input for host_routes. Reason: '${String(r.nexthop)}' is not a valid nexthop.`);
    return { destination: String(r.destination), nexthop: String(r.nexthop) };
  });
}

export const subnetRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx, ipam }) => {
  const find = (id: string, req: Parameters<typeof caller>[0]) => visible(caller(req), ctx.store.get(SUBNET, id), "subnet", id);

  app.post("/subnets", async (req, reply) => {
    const a = caller(req);
    const o = body(req, "subnet");
    onlyKnown(o, CREATE);
    const networkId = str(o, "network_id");
    if (!networkId) throw badRequest("Invalid input for operation: network_id is required.");
    const net = visible(a, ctx.store.get(NETWORK, networkId), "network", networkId);
    requireWrite(a, net, "create_subnet");
    const project = owningProject(a, o, "create_subnet");
    if (o.ip_version !== undefined && Number(o.ip_version) !== 4) throw badRequest(`Invalid input for ip_version. Reason: only IPv4 subnets are supported (asked ${String(o.ip_version)}).`);
    if (o.subnetpool_id != null || o.use_default_subnetpool === true) throw badRequest("Subnet pools are not supported: give a cidr.");
    if (o.cidr === undefined) throw badRequest("Bad subnets request: a cidr must be specified in the absence of a subnet pool");
    const cidr = parseCidr(o.cidr);
    const cidrText = `${formatIp(cidr.base)}/${cidr.prefix}`;
    for (const other of ctx.store.list(SUBNET, (s) => s.network_id === net.id)) {
      if (overlaps(cidr, parseCidr(other.cidr))) throw badRequest(`Invalid input for operation: Requested subnet with cidr: ${cidrText} for network: ${net.id} overlaps with another subnet.`);
    }
    let gateway: number | undefined;
    if (o.gateway_ip === null) gateway = undefined;
    else if (o.gateway_ip === undefined) gateway = cidr.base + 1;
    else {
      gateway = parseIp(o.gateway_ip);
      if (gateway === undefined || !isHost(cidr, gateway)) throw badRequest(`Invalid input for gateway_ip. Reason: '${String(o.gateway_ip)}' is not a host address of ${cidrText}.`);
    }
    const pools: Pool[] = o.allocation_pools === undefined || o.allocation_pools === null ? defaultPools(cidr, gateway) : checkPools(cidr, o.allocation_pools, gateway);
    if (pools.length === 0) throw new InvalidAddressError(`Subnet ${cidrText} has no addresses left for an allocation pool.`);
    const enableDhcp = bool(o, "enable_dhcp") ?? true;
    const now = nowIso(ctx);
    const id = ctx.random.uuid();
    const fields: Record<string, unknown> = {
      name: str(o, "name") ?? "",
      description: str(o, "description") ?? "",
      network_id: net.id,
      project_id: project,
      cidr: cidrText,
      gateway_ip: gateway === undefined ? null : formatIp(gateway),
      allocation_pools: pools,
      enable_dhcp: enableDhcp,
      dns_nameservers: addresses(o, "dns_nameservers") ?? [],
      host_routes: hostRoutes(o) ?? [],
      ipam_home: ipam.node,
      dhcp_ip: enableDhcp ? pools[0].start : null,
      created_at: now,
      updated_at: now,
      revision_number: 0,
    };
    await ctx.store.put(SUBNET, id, fields);
    await ctx.store.put(NETWORK, net.id, { updated_at: now, revision_number: Number(net.revision_number ?? 0) + 1 });
    reply.code(201);
    return { subnet: subnetView(ctx.store.get(SUBNET, id)!) };
  });

  app.get("/subnets", async (req) => ({ subnets: listResult(req, listable(ctx, caller(req), SUBNET).map(subnetView)) }));

  app.get<{ Params: { id: string } }>("/subnets/:id", async (req) => ({ subnet: withFields(req, subnetView(find(req.params.id, req))) }));

  app.put<{ Params: { id: string } }>("/subnets/:id", async (req) => {
    const a = caller(req);
    const s = find(req.params.id, req);
    requireWrite(a, s, "update_subnet");
    const o = body(req, "subnet");
    onlyKnown(o, UPDATABLE);
    const fields: Record<string, unknown> = {};
    for (const k of ["name", "description"]) if (o[k] !== undefined) fields[k] = str(o, k);
    if (o.enable_dhcp !== undefined) fields.enable_dhcp = bool(o, "enable_dhcp");
    if (o.dns_nameservers !== undefined) fields.dns_nameservers = addresses(o, "dns_nameservers") ?? [];
    if (o.host_routes !== undefined) fields.host_routes = hostRoutes(o) ?? [];
    await ctx.store.put(SUBNET, s.id, { ...fields, updated_at: nowIso(ctx), revision_number: Number(s.revision_number ?? 0) + 1 });
    return { subnet: subnetView(ctx.store.get(SUBNET, s.id)!) };
  });

  app.delete<{ Params: { id: string } }>("/subnets/:id", async (req, reply) => {
    const a = caller(req);
    const s = find(req.params.id, req);
    requireWrite(a, s, "delete_subnet");
    const users = ctx.store.list(PORT, (p) => Array.isArray(p.fixed_ips) && (p.fixed_ips as Obj[]).some((f) => f.subnet_id === s.id));
    if (users.length > 0) throw inUse("SubnetInUse", `Unable to complete operation on subnet ${s.id}: One or more ports have an IP allocation from this subnet.`);
    await ipam.forget(s.id);
    await ctx.store.remove(SUBNET, s.id);
    return reply.code(204).send();
  });
};
