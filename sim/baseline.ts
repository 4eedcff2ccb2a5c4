// The omniscient central scheduler: sees every host's exact usage at every instant, places each request
// at its arrival time with the same filters and weighers as the auction, and enforces quotas exactly.
// What the auction achieves is measured against it.
import { add, rank, type HostCapacity, type Resources } from "./placement/policy.ts";
import type { Arrival, Project } from "./workload.ts";
import type { Scenario } from "./scenario.ts";
import { utilisation } from "./metrics.ts";

export interface BaselineResult {
  placed: number;
  rejected: number;
  quotaRejected: number;
  firstRejectionMs: number | null;
  utilisationAtFirstRejection: number | null;
  /** [timeMs, utilisation] samples. */
  utilisation: Array<[number, number]>;
}

export function runBaseline(s: Scenario, hosts: HostCapacity[], projects: Project[], arrivals: Arrival[], sampleEveryMs: number): BaselineResult {
  const byNode = new Map(hosts.map((h) => [h.node, { ...h, used: { ...h.used } }]));
  const all = [...byNode.values()];
  const byAz = new Map<string, HostCapacity[]>();
  for (const h of all) {
    const list = byAz.get(h.az) ?? [];
    list.push(h);
    byAz.set(h.az, list);
  }
  const quota = new Map(projects.map((p) => [p.id, { p, instances: 0, cores: 0 }]));
  const groupHosts = new Map<string, Set<string>>();
  const placedOn = new Map<string, { host: HostCapacity; flavor: Resources; group?: string; project: string }>();
  // Deletions interleave with arrivals in time order.
  type Ev = { at: number; kind: 0 | 1; a: Arrival };
  const events: Ev[] = [];
  for (const a of arrivals) {
    events.push({ at: a.atMs, kind: 1, a });
    if (a.lifetimeMs !== undefined) events.push({ at: a.atMs + a.lifetimeMs, kind: 0, a });
  }
  events.sort((x, y) => x.at - y.at || x.kind - y.kind);
  const result: BaselineResult = { placed: 0, rejected: 0, quotaRejected: 0, firstRejectionMs: null, utilisationAtFirstRejection: null, utilisation: [] };
  let nextSample = 0;
  for (const ev of events) {
    while (ev.at >= nextSample && nextSample <= s.durationMs) {
      result.utilisation.push([nextSample, utilisation(all)]);
      nextSample += sampleEveryMs;
    }
    const req = ev.a.req;
    if (ev.kind === 0) {
      const p = placedOn.get(req.server);
      if (!p) continue;
      placedOn.delete(req.server);
      p.host.used = add(p.host.used, p.flavor, -1);
      if (p.group) groupHosts.get(p.group)?.delete(p.host.node);
      const q = quota.get(p.project);
      if (q) {
        q.instances--;
        q.cores -= p.flavor.vcpu;
      }
      continue;
    }
    const q = quota.get(req.project);
    if (q && (q.instances + 1 > q.p.instancesLimit || q.cores + req.flavor.vcpu > q.p.coresLimit)) {
      result.quotaRejected++;
      continue;
    }
    const best = rank(byAz.get(req.az) ?? [], req, (g) => groupHosts.get(g), s.placement.weigher)[0];
    if (!best) {
      result.rejected++;
      if (result.firstRejectionMs === null) {
        result.firstRejectionMs = ev.at;
        result.utilisationAtFirstRejection = utilisation(all);
      }
      continue;
    }
    best.used = add(best.used, req.flavor);
    placedOn.set(req.server, { host: best, flavor: req.flavor, group: req.group?.id, project: req.project });
    if (req.group) {
      const set = groupHosts.get(req.group.id) ?? new Set<string>();
      set.add(best.node);
      groupHosts.set(req.group.id, set);
    }
    if (q) {
      q.instances++;
      q.cores += req.flavor.vcpu;
    }
    result.placed++;
  }
  while (nextSample <= s.durationMs) {
    result.utilisation.push([nextSample, utilisation(all)]);
    nextSample += sampleEveryMs;
  }
  return result;
}
