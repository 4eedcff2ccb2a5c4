// l2population: which remote VTEPs a host floods a network's BUM traffic to — every other host
// that has at least one port bound on that network — from the replicated port bindings.

import type { RemotePort } from "./interface.ts";

export interface PortBinding {
  networkId: string;
  /** The host the port is bound to. */
  host: string;
  /** The guest MAC and fixed IP (for syncRemotePorts). */
  mac?: string;
  ip?: string;
}

/**
 * For each network with a port on `self`, the sorted underlay IPs of the other hosts with ports on it
 * (hosts without a known VTEP address are left out). Networks without a local port are not listed:
 * this host has no devices for them.
 */
export function floodLists(bindings: Iterable<PortBinding>, self: string, vtepOf: (host: string) => string | undefined): Map<string, string[]> {
  const hostsByNet = new Map<string, Set<string>>();
  for (const b of bindings) {
    let s = hostsByNet.get(b.networkId);
    if (!s) hostsByNet.set(b.networkId, (s = new Set()));
    s.add(b.host);
  }
  const out = new Map<string, string[]>();
  for (const [networkId, hosts] of hostsByNet) {
    if (!hosts.has(self)) continue;
    const vteps = new Set<string>();
    for (const h of hosts) {
      const ip = h === self ? undefined : vtepOf(h);
      if (ip !== undefined) vteps.add(ip);
    }
    out.set(networkId, [...vteps].sort());
  }
  return out;
}

/**
 * For each network with a port on `self`, the ports of the other hosts (MAC, IP, their host's VTEP)
 * sorted by MAC: what to pass to syncRemotePorts. Ports without a MAC or a known VTEP are left out.
 */
export function remotePorts(bindings: Iterable<PortBinding>, self: string, vtepOf: (host: string) => string | undefined): Map<string, RemotePort[]> {
  const all = [...bindings];
  const out = new Map<string, RemotePort[]>();
  for (const networkId of new Set(all.filter((b) => b.host === self).map((b) => b.networkId))) {
    const ports: RemotePort[] = [];
    for (const b of all) {
      const vtep = b.host === self ? undefined : vtepOf(b.host);
      if (b.networkId !== networkId || !b.mac || vtep === undefined) continue;
      ports.push(b.ip === undefined ? { mac: b.mac, vtep } : { mac: b.mac, ip: b.ip, vtep });
    }
    out.set(networkId, ports.sort((x, y) => x.mac.localeCompare(y.mac)));
  }
  return out;
}
