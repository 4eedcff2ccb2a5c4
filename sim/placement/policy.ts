// Placement math used by both schedulers in the simulator: the auction's front nodes and bidders, and
// the omniscient baseline. Filters (fit with allocation ratios, AZ, server-group affinity and
// anti-affinity) and weighers (spread by free RAM, or pack), Nova-like.
// Stand-in for protocol/placement/ until it lands; the simulator swaps to it then.

export interface Resources {
  vcpu: number;
  ramMb: number;
  diskGb: number;
}

export interface HostCapacity {
  node: string;
  az: string;
  total: Resources;
  used: Resources;
  ratios: Resources;
}

export interface Flavor extends Resources {
  name: string;
}

export interface PlacementRequest {
  server: string;
  project: string;
  flavor: Flavor;
  az: string;
  group?: { id: string; policy: "affinity" | "anti-affinity" };
}

export type Weigher = "spread" | "pack";

/** Capacity left for new claims: total × ratio − used, per resource. */
export function free(h: HostCapacity): Resources {
  return {
    vcpu: h.total.vcpu * h.ratios.vcpu - h.used.vcpu,
    ramMb: h.total.ramMb * h.ratios.ramMb - h.used.ramMb,
    diskGb: h.total.diskGb * h.ratios.diskGb - h.used.diskGb,
  };
}

export function fits(h: HostCapacity, f: Resources): boolean {
  const left = free(h);
  return left.vcpu >= f.vcpu && left.ramMb >= f.ramMb && left.diskGb >= f.diskGb;
}

/** Hosts of the request's server group, for affinity filters (empty when the group has none yet). */
export type GroupHosts = (groupId: string) => ReadonlySet<string> | undefined;

export function passes(h: HostCapacity, req: PlacementRequest, groupHosts: GroupHosts): boolean {
  if (h.az !== req.az) return false;
  if (!fits(h, req.flavor)) return false;
  if (req.group) {
    const hosts = groupHosts(req.group.id);
    if (hosts && hosts.size > 0) {
      if (req.group.policy === "anti-affinity" && hosts.has(h.node)) return false;
      if (req.group.policy === "affinity" && !hosts.has(h.node)) return false;
    }
  }
  return true;
}

/** Higher is better. Spread: most free RAM (fraction); pack: least. */
export function weigh(h: HostCapacity, weigher: Weigher): number {
  const cap = h.total.ramMb * h.ratios.ramMb;
  const fraction = cap > 0 ? free(h).ramMb / cap : 0;
  return weigher === "spread" ? fraction : 1 - fraction;
}

/** Filters then ranks candidates, best first (ties by node id, so ranking is deterministic). */
export function rank(hosts: Iterable<HostCapacity>, req: PlacementRequest, groupHosts: GroupHosts, weigher: Weigher): HostCapacity[] {
  const scored: Array<{ h: HostCapacity; w: number }> = [];
  for (const h of hosts) if (passes(h, req, groupHosts)) scored.push({ h, w: weigh(h, weigher) });
  scored.sort((a, b) => b.w - a.w || (a.h.node < b.h.node ? -1 : a.h.node > b.h.node ? 1 : 0));
  return scored.map((s) => s.h);
}

export function add(a: Resources, b: Resources, sign = 1): Resources {
  return { vcpu: a.vcpu + sign * b.vcpu, ramMb: a.ramMb + sign * b.ramMb, diskGb: a.diskGb + sign * b.diskGb };
}

export const ZERO: Resources = { vcpu: 0, ramMb: 0, diskGb: 0 };
