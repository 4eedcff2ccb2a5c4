// The same scenario at other mesh sizes: hosts, sites, projects, placements and arrival rate scale with
// the node count, so per-node load and site size stay the same. Messages per placement should not move.
import type { Scenario } from "./scenario.ts";

export function scaleScenario(base: Scenario, nodes: number): Scenario {
  const baseNodes = base.hosts.reduce((a, h) => a + h.count, 0);
  const f = nodes / baseNodes;
  return {
    ...base,
    name: `${base.name}@${nodes}`,
    hosts: base.hosts.map((h) => ({ ...h, count: Math.max(1, Math.round(h.count * f)), sites: Math.max(1, Math.round(h.sites * f)) })),
    workload: {
      ...base.workload,
      placements: Math.max(1, Math.round(base.workload.placements * f)),
      ratePerSec: base.workload.ratePerSec * f,
      projects: { ...base.workload.projects, count: Math.max(1, Math.round(base.workload.projects.count * f)) },
    },
  };
}

export interface ScalingRow {
  nodes: number;
  perPlacement: number;
  advertsPerPlacement: number;
}
