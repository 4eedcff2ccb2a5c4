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
  return host.ledger.claimedUsage();
}

/** A project's servers and cores as counted by the current sweep. */
interface Tally {
  project: string;
  sweep: number;
  instances: number;
  cores: number;
}

interface ServerMark {
  /** The last sweep that met this server, and on which host first. */
  sweep: number;
  firstHost: string;
  /** Position among the servers that sweep met. */
  order: number;
  tally: Tally | undefined;
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
  private sweeps = 0;
  private readonly servers = new Map<string, ServerMark>();
  private readonly tallies = new Map<string, Tally>();

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
    const sweep = ++this.sweeps;
    const projects: Tally[] = []; // in the order first met in this sweep
    const shared = new Map<string, { order: number; hosts: string[] }>(); // servers on more than one host (rare)
    let met = 0;
    for (const h of this.hosts) {
      let groups: Map<string, number> | undefined;
      for (const c of h.ledger.allClaims()) {
        const s = this.server(c.serverId);
        if (s.sweep !== sweep) {
          s.sweep = sweep;
          s.firstHost = h.node.id;
          s.order = met++;
          // Quota counts servers, not claims: a server briefly claimed twice spent its quota once.
          const q = s.tally;
          if (q) {
            if (q.sweep !== sweep) {
              q.sweep = sweep;
              q.instances = 0;
              q.cores = 0;
              projects.push(q);
            }
            q.instances++;
            q.cores += c.resources.vcpus;
          }
        } else {
          const d = shared.get(c.serverId);
          if (d) d.hosts.push(h.node.id);
          else shared.set(c.serverId, { order: s.order, hosts: [s.firstHost, h.node.id] });
        }
        if (c.group) (groups ??= new Map()).set(c.group, (groups.get(c.group) ?? 0) + 1);
      }
      if (groups) for (const [g, n] of groups) if (n > 1) this.report("anti-affinity", `group "${g}" has ${n} servers on host "${h.node.id}"`);
    }
    for (const q of projects) {
      const p = this.projects.get(q.project);
      if (p && (q.instances > p.instancesLimit || q.cores > p.coresLimit)) this.report("quota", `project "${q.project}" runs ${q.instances} instances / ${q.cores} cores; limits ${p.instancesLimit} / ${p.coresLimit}`);
    }
    if (shared.size === 0) return;
    if (!final) {
      this.transientDuplicates += shared.size;
      return;
    }
    // In the order the servers were first met, as the sweep walks hosts and their claims.
    for (const [server, d] of [...shared].sort((a, b) => a[1].order - b[1].order)) this.report("duplicate-host", `server "${server}" is claimed on ${d.hosts.join(", ")}`);
  }

  /** What the sweeps keep per server: one map lookup per claim (100,000 claims at 10,000 nodes). */
  private server(id: string): ServerMark {
    let s = this.servers.get(id);
    if (!s) {
      const project = this.projectOf.get(id);
      let tally: Tally | undefined;
      if (project !== undefined) {
        tally = this.tallies.get(project);
        if (!tally) this.tallies.set(project, (tally = { project, sweep: 0, instances: 0, cores: 0 }));
      }
      this.servers.set(id, (s = { sweep: 0, firstHost: "", order: 0, tally }));
    }
    return s;
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
