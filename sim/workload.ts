// The request stream, drawn up front from the seed so that the auction and the omniscient baseline see
// exactly the same requests: arrival time, project (whose home AZ receives and places it), flavor,
// server group and lifetime.
import type { Random } from "../protocol/random.ts";
import type { RequestSpec } from "../protocol/placement/index.ts";
import type { Scenario } from "./scenario.ts";

export interface Arrival {
  atMs: number;
  spec: RequestSpec;
  /** Offset from arrival at which the server is deleted, or undefined if it lives on. */
  lifetimeMs?: number;
}

export interface Project {
  id: string;
  az: string;
  instancesLimit: number;
  coresLimit: number;
}

export function projectsOf(s: Scenario, azs: string[]): Project[] {
  const out: Project[] = [];
  for (let i = 0; i < s.workload.projects.count; i++) {
    out.push({ id: `p${String(i).padStart(4, "0")}`, az: azs[i % azs.length], instancesLimit: s.workload.projects.instancesLimit, coresLimit: s.workload.projects.coresLimit });
  }
  return out;
}

export function drawWorkload(s: Scenario, projects: Project[], random: Random): Arrival[] {
  const w = s.workload;
  const out: Arrival[] = [];
  const totalWeight = w.flavors.reduce((a, f) => a + f.weight, 0);
  const openGroup = new Map<string, { id: string; left: number }>();
  let t = 0;
  let groups = 0;
  for (let i = 0; i < w.placements; i++) {
    t += (-Math.log(1 - random.next()) / w.ratePerSec) * 1000;
    if (t >= s.durationMs) break;
    const project = projects[random.int(projects.length)];
    let pick = random.next() * totalWeight;
    let flavor = w.flavors[0];
    for (const f of w.flavors) {
      pick -= f.weight;
      if (pick < 0) {
        flavor = f;
        break;
      }
    }
    let group: RequestSpec["group"];
    if (w.groups.fraction > 0 && random.next() < w.groups.fraction) {
      let g = openGroup.get(project.id);
      if (!g || g.left <= 0) openGroup.set(project.id, (g = { id: `g${groups++}`, left: w.groups.size }));
      g.left--;
      group = { id: g.id, policy: "anti-affinity" };
    }
    const lifetimeMs = w.lifetimeMeanMs > 0 ? -Math.log(1 - random.next()) * w.lifetimeMeanMs : undefined;
    const resources = { vcpus: flavor.vcpus, ramMb: flavor.ramMb, diskGb: flavor.diskGb };
    const spec: RequestSpec = { serverId: random.uuid(), project: project.id, resources, az: project.az };
    if (group) spec.group = group;
    if (flavor.requiredTraits?.length) spec.requiredTraits = flavor.requiredTraits;
    out.push({ atMs: t, spec, lifetimeMs });
  }
  return out;
}
