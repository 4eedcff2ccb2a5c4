// Neutron ports (kind "port"): addresses from node/ipam (escrowed blocks), MACs fa:16:3e:xx:xx:xx
// derived from the port id (probing past MACs already on the network), status DOWN until the port
// is bound to a host (binding:host_id) — or whatever status the host's reconciler writes.
import { createHash } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import { contains, parseCidr, parseIp } from "../../node/ipam/cidr.ts";
import type { IpamSubnet } from "../../node/ipam/ipam.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { NeutronFault, badRequest, body, bool, caller, inUse, listResult, listable, nowIso, onlyKnown, owningProject, requireWrite, standard, str, visible, withFields, type Obj } from "./common.ts";
import { NETWORK, PORT, SUBNET } from "./networks.ts";
import type { NetworkingDeps } from "./plugin.ts";
import { SECURITY_GROUP, ensureDefaultGroup } from "./security-groups.ts";

const UPDATABLE = ["name", "description", "admin_state_up", "device_id", "device_owner", "binding:host_id", "binding:profile", "binding:vnic_type", "security_groups", "port_security_enabled", "fixed_ips", "allowed_address_pairs", "tags"];
const CREATE = [...UPDATABLE, "network_id", "mac_address", "project_id", "tenant_id", "dns_name", "extra_dhcp_opts", "qos_policy_id"];
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

const securityNeedsPortSecurity = () =>
  new NeutronFault(400, "PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled and port must have an IP address in order to use security groups.");

export function portView(p: CatalogRecord): Obj {
  const host = typeof p.binding_host_id === "string" ? p.binding_host_id : "";
  return {
    id: p.id,
    name: p.name ?? "",
    network_id: p.network_id,
    admin_state_up: p.admin_state_up ?? true,
    mac_address: p.mac_address,
    fixed_ips: p.fixed_ips ?? [],
    device_id: p.device_id ?? "",
    device_owner: p.device_owner ?? "",
    status: typeof p.status === "string" ? p.status : host ? "ACTIVE" : "DOWN",
    security_groups: p.security_groups ?? [],
    port_security_enabled: p.port_security_enabled ?? true,
    allowed_address_pairs: p.allowed_address_pairs ?? [],
    extra_dhcp_opts: [],
    "binding:host_id": host,
    "binding:vif_type": host ? "bridge" : "unbound",
    "binding:vif_details": {},
    "binding:vnic_type": p.binding_vnic_type ?? "normal",
    "binding:profile": p.binding_profile ?? {},
    ip_allocation: "immediate",
    dns_name: "",
    dns_assignment: [],
    qos_policy_id: null,
    propagate_uplink_status: false,
    ...standard(p),
  };
}

/** fa:16:3e + 3 bytes of sha256(port id # i), the first i whose MAC is not on the network yet. */
export function macFor(ctx: GatewayContext, networkId: string, portId: string): string {
  const taken = new Set(ctx.store.list(PORT, (p) => p.network_id === networkId).map((p) => String(p.mac_address)));
  for (let i = 0; ; i++) {
    const h = createHash("sha256").update(`${portId}#${i}`).digest("hex");
    const mac = `fa:16:3e:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
    if (!taken.has(mac)) return mac;
  }
}

export const portRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx, ipam }) => {
  const find = (id: string, a: AuthContext) => visible(a, ctx.store.get(PORT, id), "port", id);
  const subnetsOf = (networkId: string) => ctx.store.list(SUBNET, (s) => s.network_id === networkId).sort((x, y) => String(x.created_at).localeCompare(String(y.created_at)) || x.id.localeCompare(y.id));
  const asIpam = (s: CatalogRecord) => s as unknown as IpamSubnet;

  /** Allocates the requested fixed IPs (all or nothing). `keep` are addresses the port holds already. */
  async function allocate(networkId: string, portId: string, asked: unknown, keep: FixedIp[] = []): Promise<FixedIp[]> {
    const subnets = subnetsOf(networkId);
    const out: FixedIp[] = [];
    try {
      if (asked === undefined) {
        for (const s of subnets) {
          try {
            out.push({ subnet_id: s.id, ip_address: await ipam.allocate(asIpam(s), portId) });
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== "IP_EXHAUSTED" || s === subnets[subnets.length - 1]) throw err;
          }
        }
        return out;
      }
      if (!Array.isArray(asked)) throw badRequest("Invalid input for fixed_ips. Reason: expected a list of {subnet_id, ip_address}.");
      for (const f of asked as Obj[]) {
        const ip = f?.ip_address;
        const sid = f?.subnet_id;
        if (ip !== undefined && parseIp(ip) === undefined) throw badRequest(`Invalid input for fixed_ips. Reason: '${String(ip)}' is not a valid IP address.`);
        let subnet = sid !== undefined ? subnets.find((s) => s.id === sid) : subnets.find((s) => contains(parseCidr(s.cidr), parseIp(ip)!));
        if (sid !== undefined && !subnet) throw badRequest(`Invalid input for fixed_ips. Reason: subnet ${String(sid)} is not on network ${networkId}.`);
        if (!subnet) throw new NeutronFault(400, "InvalidIpForNetwork", `IP address ${String(ip)} is not a valid IP for any of the subnets on the specified network.`);
        subnet = subnet!;
        const held = keep.find((k) => k.subnet_id === subnet!.id && (ip === undefined || k.ip_address === ip));
        if (held && !out.includes(held)) {
          out.push(held);
          continue;
        }
        out.push({ subnet_id: subnet.id, ip_address: await ipam.allocate(asIpam(subnet), portId, ip === undefined ? undefined : String(ip)) });
      }
      return out;
    } catch (err) {
      for (const f of out) if (!keep.includes(f)) await release(f, portId);
      throw err;
    }
  }

  async function release(f: FixedIp, portId: string): Promise<void> {
    const s = ctx.store.get(SUBNET, f.subnet_id);
    if (s) await ipam.release(asIpam(s), f.ip_address, portId);
  }

  async function securityGroups(a: AuthContext, project: string, asked: unknown): Promise<string[]> {
    if (asked === undefined || asked === null) return [await ensureDefaultGroup(ctx, project)];
    if (!Array.isArray(asked)) throw badRequest("Invalid input for security_groups. Reason: expected a list of ids.");
    for (const id of asked) visible(a, ctx.store.get(SECURITY_GROUP, String(id)), "securityGroup", String(id));
    return asked.map(String);
  }

  function binding(o: Obj): Record<string, unknown> {
    const f: Record<string, unknown> = {};
    if (o["binding:host_id"] !== undefined) f.binding_host_id = str(o, "binding:host_id") ?? "";
    if (o["binding:profile"] !== undefined) f.binding_profile = o["binding:profile"] ?? {};
    if (o["binding:vnic_type"] !== undefined) f.binding_vnic_type = str(o, "binding:vnic_type");
    return f;
  }

  // A port may name as its device only a server of a project the caller may act for (else it would join that VM).
  function checkDevice(a: AuthContext, o: Record<string, unknown>): void {
    const id = str(o, "device_id");
    if (!id || isAdmin(a)) return;
    const server = ctx.store.get("server", id);
    if (server && server.project_id !== a.project?.id) throw badRequest(`Invalid input for device_id. Reason: device ${id} does not belong to project ${a.project?.id ?? ""}.`);
  }

  app.post("/ports", async (req, reply) => {
    const a = caller(req);
    const o = body(req, "port");
    onlyKnown(o, CREATE);
    checkDevice(a, o);
    const networkId = str(o, "network_id");
    if (!networkId) throw badRequest("Invalid input for operation: network_id is required.");
    const net = visible(a, ctx.store.get(NETWORK, networkId), "network", networkId);
    const project = owningProject(a, o, "create_port");
    if ((o["binding:host_id"] !== undefined || o.mac_address !== undefined) && !isAdmin(a) && net.project_id !== a.project.id) throw new PolicyForbiddenError("create_port:binding:host_id");
    const id = ctx.random.uuid();
    let mac = macFor(ctx, net.id, id);
    if (o.mac_address !== undefined) {
      mac = String(o.mac_address).toLowerCase();
      if (!MAC.test(mac)) throw badRequest(`Invalid input for mac_address. Reason: '${String(o.mac_address)}' is not a valid MAC address.`);
      if (ctx.store.list(PORT, (p) => p.network_id === net.id && p.mac_address === mac).length > 0) throw new NeutronFault(409, "MacAddressInUse", `Unable to complete operation for network ${net.id}. The mac address ${mac} is in use.`);
    }
    const portSecurity = bool(o, "port_security_enabled") ?? (net.port_security_enabled as boolean | undefined) ?? true;
    if (!portSecurity && Array.isArray(o.security_groups) && o.security_groups.length > 0) throw securityNeedsPortSecurity();
    const groups = portSecurity ? await securityGroups(a, project, o.security_groups) : [];
    const fixed = await allocate(net.id, id, o.fixed_ips);
    const now = nowIso(ctx);
    try {
      await ctx.store.put(PORT, id, {
        name: str(o, "name") ?? "",
        description: str(o, "description") ?? "",
        network_id: net.id,
        project_id: project,
        admin_state_up: bool(o, "admin_state_up") ?? true,
        mac_address: mac,
        fixed_ips: fixed,
        device_id: str(o, "device_id") ?? "",
        device_owner: str(o, "device_owner") ?? "",
        security_groups: groups,
        port_security_enabled: portSecurity,
        allowed_address_pairs: Array.isArray(o.allowed_address_pairs) ? o.allowed_address_pairs : [],
        ...binding(o),
        created_at: now,
        updated_at: now,
        revision_number: 1,
      });
    } catch (err) {
      for (const f of fixed) await release(f, id);
      throw err;
    }
    reply.code(201);
    return { port: portView(ctx.store.get(PORT, id)!) };
  });

  app.get("/ports", async (req) => ({ ports: listResult(req, listable(ctx, caller(req), PORT).map(portView)) }));

  app.get<{ Params: { id: string } }>("/ports/:id", async (req) => ({ port: withFields(req, portView(find(req.params.id, caller(req)))) }));

  app.put<{ Params: { id: string } }>("/ports/:id", async (req) => {
    const a = caller(req);
    const p = find(req.params.id, a);
    requireWrite(a, p, "update_port");
    const o = body(req, "port");
    onlyKnown(o, UPDATABLE);
    checkDevice(a, o);
    const fields: Record<string, unknown> = { ...binding(o) };
    for (const k of ["name", "description", "device_id", "device_owner"]) if (o[k] !== undefined) fields[k] = str(o, k) ?? "";
    for (const k of ["admin_state_up", "port_security_enabled"]) if (o[k] !== undefined) fields[k] = bool(o, k);
    if (o.security_groups !== undefined) fields.security_groups = await securityGroups(a, String(p.project_id), o.security_groups ?? []);
    // Neutron: groups need port security (400); disabling it while groups stay is a conflict (409)
    const secured = (fields.port_security_enabled ?? p.port_security_enabled ?? true) !== false;
    const groupsAfter = (fields.security_groups ?? p.security_groups ?? []) as unknown[];
    if (!secured && groupsAfter.length > 0) {
      if (o.security_groups !== undefined) throw securityNeedsPortSecurity();
      throw inUse("PortSecurityPortHasSecurityGroup", "Port has security group associated. Cannot disable port security or IP address until security group is removed");
    }
    if (o.allowed_address_pairs !== undefined) fields.allowed_address_pairs = Array.isArray(o.allowed_address_pairs) ? o.allowed_address_pairs : [];
    const old = (p.fixed_ips as FixedIp[] | undefined) ?? [];
    let dropped: FixedIp[] = [];
    if (o.fixed_ips !== undefined) {
      const next = await allocate(String(p.network_id), p.id, o.fixed_ips ?? [], old);
      dropped = old.filter((f) => !next.includes(f));
      fields.fixed_ips = next;
    }
    await ctx.store.put(PORT, p.id, { ...fields, updated_at: nowIso(ctx), revision_number: Number(p.revision_number ?? 0) + 1 });
    for (const f of dropped) await release(f, p.id);
    return { port: portView(ctx.store.get(PORT, p.id)!) };
  });

  app.delete<{ Params: { id: string } }>("/ports/:id", async (req, reply) => {
    const a = caller(req);
    const p = find(req.params.id, a);
    requireWrite(a, p, "delete_port");
    await ctx.store.remove(PORT, p.id);
    for (const f of (p.fixed_ips as FixedIp[] | undefined) ?? []) await release(f, p.id);
    return reply.code(204).send();
  });
};
