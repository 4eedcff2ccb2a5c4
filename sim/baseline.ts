// The omniscient central scheduler: sees every host's exact usage at every instant, places each request
// at its arrival time with the same filters and weighers as the auction (protocol/placement), and
// enforces quotas exactly. What the auction achieves is measured against it.
import { addResources, filterHosts, PACK, SPREAD, weighHosts, type HostState } from "../protocol/placement/index.ts";
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

export function runBaseline(s: Scenario, initial: HostState[], projects: Project[], arrivals: Arrival[], sampleEveryMs: number): BaselineResult {
  const all = initial.map((h) => ({ ...h, used: { ...h.used }, groups: { ...h.groups } }));
  const byAz = new Map<string, HostState[]>();
  for (const h of all) byAz.set(h.az, [...(byAz.get(h.az) ?? []), h]);
  const multipliers = s.placement.weigher === "pack" ? PACK : SPREAD;
  const quota = new Map(projects.map((p) => [p.id, { p, instances: 0, cores: 0 }]));
  const placedOn = new Map<string, HostState>();
  type Ev = { at: number; kind: 0 | 1; a: Arrival };
  const events: Ev[] = [];
  for (const a of arrivals) {
    events.push({ at: a.atMs, kind: 1, a });
    if (a.lifetimeMs !== undefined) events.push({ at: a.atMs + a.lifetimeMs, kind: 0, a });
  }
  // Deletions before arrivals at the same instant; otherwise time order.
  events.sort((x, y) => x.at - y.at || x.kind - y.kind);
  const result: BaselineResult = { placed: 0, rejected: 0, quotaRejected: 0, firstRejectionMs: null, utilisationAtFirstRejection: null, utilisation: [] };
  let nextSample = 0;
  for (const ev of events) {
    while (ev.at >= nextSample && nextSample <= s.durationMs) {
      result.utilisation.push([nextSample, utilisation(all)]);
      nextSample += sampleEveryMs;
    }
    const spec = ev.a.spec;
    const q = quota.get(spec.project);
    if (ev.kind === 0) {
      const host = placedOn.get(spec.serverId);
      if (!host) continue;
      placedOn.delete(spec.serverId);
      host.used = addResources(host.used, spec.resources, -1);
      host.instances--;
      if (spec.group) host.groups[spec.group.id]--;
      if (q) {
        q.instances--;
        q.cores -= spec.resources.vcpus;
      }
      continue;
    }
    if (q && (q.instances + 1 > q.p.instancesLimit || q.cores + spec.resources.vcpus > q.p.coresLimit)) {
      result.quotaRejected++;
      continue;
    }
    const best = weighHosts(filterHosts(byAz.get(spec.az ?? "") ?? [], spec), spec, multipliers)[0]?.host;
    if (!best) {
      result.rejected++;
      if (result.firstRejectionMs === null) {
        result.firstRejectionMs = Math.round(ev.at);
        result.utilisationAtFirstRejection = utilisation(all);
      }
      continue;
    }
    best.used = addResources(best.used, spec.resources);
    best.instances++;
    if (spec.group) best.groups[spec.group.id] = (best.groups[spec.group.id] ?? 0) + 1;
    placedOn.set(spec.serverId, best);
    if (q) {
      q.instances++;
      q.cores += spec.resources.vcpus;
    }
    result.placed++;
  }
  while (nextSample <= s.durationMs) {
    result.utilisation.push([nextSample, utilisation(all)]);
    nextSample += sampleEveryMs;
  }
  return result;
}
