// Ports of a server on this host: bind the port record to this host, make the network (bridge +
// VXLAN) and the tap, keep the flood list / l2pop entries in line with the other hosts' bindings,
// and serve static DHCP leases for this host's ports. Every call is idempotent.
import type { NicSpec } from "../../drivers/compute/interface.ts";
import type { CatalogRecord } from "../../protocol/crdt/lww-map.ts";
import { NETWORK, PORT, SUBNET, tapNameFor, type ServerRecord } from "../../protocol/records.ts";
import { allocateVni } from "../../protocol/vni.ts";
import { MissingDependencyError, type ReconcilerComponents, type ReconcilerInit } from "./types.ts";

export interface PluggedNics {
  nics: NicSpec[];
  /** First port's address with its prefix (fw_cfg metadata), gateway and MTU. */
  ip?: string;
  gateway?: string;
  mtu?: number;
  /** Every fixed IP of every port (the config drive's network_data.json). */
  addresses: Array<{ link: string; networkId: string; address: string; gateway?: string; dns?: string[] }>;
}

function vniOf(c: ReconcilerComponents, net: CatalogRecord): number {
  if (typeof net.vni === "number") return net.vni;
  const claims = c.store.list(NETWORK).filter((n) => typeof n.vni === "number" && n.id !== net.id).map((n) => ({ networkId: n.id, vni: n.vni as number }));
  return allocateVni(net.id, claims);
}

/** Binds and plugs every port of the server; returns the NICs for the hypervisor. */
export async function plugPorts(init: ReconcilerInit, c: ReconcilerComponents, s: ServerRecord): Promise<PluggedNics> {
  const out: PluggedNics = { nics: [], addresses: [] };
  const ports = s.ports ?? [];
  if (ports.length === 0) return out;
  const net = c.network;
  const underlay = init.underlay;
  if (!net || !underlay) throw new MissingDependencyError(`server "${s.id}" has ports but this host has no network driver configured`);
  for (const portId of ports) {
    const p = c.store.get(PORT, portId);
    if (!p) throw new MissingDependencyError(`port "${portId}" of server "${s.id}" does not exist`);
    const networkId = String(p.network_id);
    const n = c.store.get(NETWORK, networkId);
    if (!n) throw new MissingDependencyError(`network "${networkId}" of port "${portId}" does not exist`);
    // Bind first: a tap whose port is not bound here is an orphan to the collector.
    if (p.binding_host_id !== c.self || p.binding_vtep !== underlay.localIp || p.device_id !== s.id) {
      await c.store.put(PORT, portId, { binding_host_id: c.self, binding_vtep: underlay.localIp, device_id: s.id, device_owner: "compute:nova", status: "ACTIVE" });
    }
    const ns = await net.ensureNetwork({ networkId, vni: vniOf(c, n), underlayDev: underlay.dev, localIp: underlay.localIp, mtu: typeof n.mtu === "number" ? n.mtu : undefined });
    const tap = tapNameFor(portId);
    const mac = String(p.mac_address);
    await net.ensurePort({ portId, networkId, mac, tapName: tap });
    out.nics.push({ tap, mac, mtu: ns.mtu });
    for (const f of (p.fixed_ips as { subnet_id: string; ip_address: string }[] | undefined) ?? []) {
      const sub = c.store.get(SUBNET, f.subnet_id);
      if (!sub || typeof sub.cidr !== "string") continue;
      const dns = Array.isArray(sub.dns_nameservers) ? sub.dns_nameservers.map(String) : [];
      out.addresses.push({ link: tap, networkId, address: `${f.ip_address}/${sub.cidr.split("/")[1]}`, ...(typeof sub.gateway_ip === "string" ? { gateway: sub.gateway_ip } : {}), ...(dns.length ? { dns } : {}) });
    }
    if (out.nics.length === 1) {
      out.mtu = ns.mtu;
      const fixed = (p.fixed_ips as { subnet_id: string; ip_address: string }[] | undefined)?.[0];
      const sub = fixed ? c.store.get(SUBNET, fixed.subnet_id) : undefined;
      if (fixed && sub && typeof sub.cidr === "string") {
        out.ip = `${fixed.ip_address}/${sub.cidr.split("/")[1]}`;
        if (typeof sub.gateway_ip === "string") out.gateway = sub.gateway_ip;
      }
    }
    await syncNetwork(init, c, networkId);
  }
  return out;
}

/** Flood list + unicast FDB toward the other hosts' ports of the network; DHCP leases for ours. */
export async function syncNetwork(init: ReconcilerInit, c: ReconcilerComponents, networkId: string): Promise<void> {
  const net = c.network;
  if (!net) return;
  const ports = c.store.list(PORT, (p) => p.network_id === networkId);
  const remote = ports.filter((p) => typeof p.binding_host_id === "string" && p.binding_host_id && p.binding_host_id !== c.self && typeof p.binding_vtep === "string" && p.binding_vtep !== init.underlay?.localIp);
  await net.syncFdb(networkId, [...new Set(remote.map((p) => String(p.binding_vtep)))].sort());
  await net.syncRemotePorts(
    networkId,
    remote.map((p) => ({ mac: String(p.mac_address), vtep: String(p.binding_vtep), ip: (p.fixed_ips as { ip_address: string }[] | undefined)?.[0]?.ip_address })),
  );
  if (!init.dhcpServerIp) return;
  const local = ports.filter((p) => p.binding_host_id === c.self);
  const subnet = c.store.list(SUBNET, (s) => s.network_id === networkId && s.enable_dhcp !== false && typeof s.cidr === "string" && !String(s.cidr).includes(":"))[0];
  if (!subnet) return;
  const serverIp = init.dhcpServerIp({ id: subnet.id, network_id: networkId, cidr: String(subnet.cidr) });
  if (!serverIp) return;
  const leases = local.flatMap((p) =>
    ((p.fixed_ips as { subnet_id: string; ip_address: string }[] | undefined) ?? [])
      .filter((f) => f.subnet_id === subnet.id)
      .map((f) => ({ mac: String(p.mac_address), ip: f.ip_address, hostname: `host-${f.ip_address.replace(/\./g, "-")}` })),
  );
  await net.ensureDhcp({
    networkId,
    cidr: String(subnet.cidr),
    serverIp,
    gateway: typeof subnet.gateway_ip === "string" ? subnet.gateway_ip : undefined,
    dnsServers: Array.isArray(subnet.dns_nameservers) ? subnet.dns_nameservers.map(String) : undefined,
    leases,
  });
}

/** Removes the taps of the server's ports and unbinds the port records that still point here. */
export async function unplugPorts(c: ReconcilerComponents, s: ServerRecord): Promise<void> {
  for (const portId of s.ports ?? []) {
    if (c.network) await c.network.deletePort(portId);
    const p = c.store.get(PORT, portId);
    if (p && p.binding_host_id === c.self) await c.store.put(PORT, portId, { binding_host_id: "", binding_vtep: "", device_id: "", device_owner: "", status: "DOWN" });
  }
}
