// Checkers watch the nodes from outside, reading the hosts' ledgers (the ground truth of what runs
// where) rather than asking any node: no overcommit, no quota breach, one host per server,
// anti-affinity kept; after the liveness phase, converged catalog replicas and capacity views.
import { limits, type Resources } from "../protocol/placement/index.ts";
import type { SimHost } from "./host.ts";
import type { Project } from "./workload.ts";

export interface Violation {
  atMs: number;
  kind: "overcommit" | "quota" | "duplicate-host" | "anti-affinity" | "catalog-diverged" | "capacity-view-stale";
  detail: string;
}

/** Resources of a host's claims (servers it runs), holds not counted. */
export function claimed(host: SimHost): Resources {
  let vcpus = 0;
  let ramMb = 0;
  let diskGb = 0;
  for (const c of host.ledger.allClaims()) {
    vcpus += c.resources.vcpus;
    ramMb += c.resources.ramMb;
    diskGb += c.resources.diskGb;
  }
  return { vcpus, ramMb, diskGb };
}

export class Checkers {
  readonly violations: Violation[] = [];
  /** Servers seen on two hosts at once during the safety phase (fenced and released later). */
  transientDuplicates = 0;
  private readonly hosts: SimHost[];
  private readonly projects: Map<string, Project>;
  /** serverId -> project, from the workload (ledgers do not know projects). */
  private readonly projectOf: Map<string, string>;
  private readonly now: () => number;
  private readonly limit = 50;

  constructor(hosts: SimHost[], projects: Project[], projectOf: Map<string, string>, now: () => number) {
    this.hosts = hosts;
    this.projects = new Map(projects.map((p) => [p.id, p]));
    this.projectOf = projectOf;
    this.now = now;
  }

  private report(kind: Violation["kind"], detail: string): void {
    if (this.violations.length < this.limit) this.violations.push({ atMs: Math.round(this.now()), kind, detail });
  }

  get count(): number {
    return this.violations.length;
  }

  /** After every claim: the host's claims fit its capacity × allocation ratios. */
  onClaim(host: SimHost): void {
    const used = claimed(host);
    const lim = limits(host.ledger.snapshot());
    if (used.vcpus > lim.vcpus || used.ramMb > lim.ramMb || used.diskGb > lim.diskGb) {
      this.report("overcommit", `host "${host.node.id}" claims ${JSON.stringify(used)}, limits ${JSON.stringify(lim)}`);
    }
  }

  /** Periodic: quotas and anti-affinity; a server on two hosts is counted (a violation only at the end). */
  sweep(final: boolean): void {
    const perProject = new Map<string, { instances: number; cores: number }>();
    // First host of every server; the hosts of servers found on more than one (rare) kept aside.
    const firstHost = new Map<string, string>();
    const shared = new Map<string, string[]>();
    for (const h of this.hosts) {
      let groups: Map<string, number> | undefined;
      for (const c of h.ledger.allClaims()) {
        const first = firstHost.get(c.serverId);
        if (first === undefined) {
          firstHost.set(c.serverId, h.node.id);
          // Quota counts servers, not claims: a server briefly claimed twice spent its quota once.
          const project = this.projectOf.get(c.serverId);
          if (project) {
            const q = perProject.get(project);
            if (q) {
              q.instances++;
              q.cores += c.resources.vcpus;
            } else perProject.set(project, { instances: 1, cores: c.resources.vcpus });
          }
        } else {
          const hosts = shared.get(c.serverId);
          if (hosts) hosts.push(h.node.id);
          else shared.set(c.serverId, [first, h.node.id]);
        }
        if (c.group) (groups ??= new Map()).set(c.group, (groups.get(c.group) ?? 0) + 1);
      }
      if (groups) for (const [g, n] of groups) if (n > 1) this.report("anti-affinity", `group "${g}" has ${n} servers on host "${h.node.id}"`);
    }
    for (const [id, q] of perProject) {
      const p = this.projects.get(id);
      if (p && (q.instances > p.instancesLimit || q.cores > p.coresLimit)) this.report("quota", `project "${id}" runs ${q.instances} instances / ${q.cores} cores; limits ${p.instancesLimit} / ${p.coresLimit}`);
    }
    if (shared.size === 0) return;
    if (!final) {
      this.transientDuplicates += shared.size;
      return;
    }
    for (const server of firstHost.keys()) {
      const hosts = shared.get(server);
      if (hosts) this.report("duplicate-host", `server "${server}" is claimed on ${hosts.join(", ")}`);
    }
  }

  /** After the liveness phase: all up nodes hold the same catalog; capacity views match the ledgers. */
  converged(): { catalog: boolean; views: boolean } {
    const up = this.hosts.filter((h) => h.node.up);
    const digests = up.filter((h) => h.store).map((h) => JSON.stringify(h.store?.digest()));
    const catalog = digests.every((d) => d === digests[0]);
    if (!catalog) this.report("catalog-diverged", `${new Set(digests).size} distinct catalog digests among ${digests.length} nodes`);
    const truth = new Map(this.hosts.map((h) => [h.node.id, h.ledger.usage()]));
    let stale = 0;
    let example = "";
    const byAz = new Map<string, SimHost[]>();
    for (const h of up) byAz.set(h.node.az, [...(byAz.get(h.node.az) ?? []), h]);
    for (const h of up) {
      for (const other of byAz.get(h.node.az) ?? []) {
        const seen = h.view.get(other.node.id)?.state.used;
        const t = truth.get(other.node.id) as Resources;
        if (seen && seen.vcpus === t.vcpus && seen.ramMb === t.ramMb && seen.diskGb === t.diskGb) continue;
        stale++;
        example ||= `node "${h.node.id}" sees host "${other.node.id}" using ${JSON.stringify(seen ?? null)}, it uses ${JSON.stringify(t)}`;
      }
    }
    if (stale > 0) this.report("capacity-view-stale", `${stale} stale or missing view entries, e.g. ${example}`);
    return { catalog, views: stale === 0 };
  }
}
