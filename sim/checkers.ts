// Checkers watch the nodes from outside, reading the hosts' ledgers (the ground truth of what runs
// where) rather than asking any node: no overcommit, no quota breach, one host per server,
// anti-affinity kept; after the liveness phase, converged catalog replicas and capacity views.
import { add, ZERO, type Resources } from "./placement/policy.ts";
import type { Claim } from "./placement/ledger.ts";
import type { SimHost } from "./host.ts";
import type { Project } from "./workload.ts";

export interface Violation {
  atMs: number;
  kind: "overcommit" | "quota" | "duplicate-host" | "anti-affinity" | "catalog-diverged" | "capacity-view-stale";
  detail: string;
}

export class Checkers {
  readonly violations: Violation[] = [];
  /** Servers seen on two hosts at once during the safety phase (fenced later). */
  transientDuplicates = 0;
  private readonly hosts: SimHost[];
  private readonly projects: Map<string, Project>;
  private readonly now: () => number;
  private readonly limit = 50;

  constructor(hosts: SimHost[], projects: Project[], now: () => number) {
    this.hosts = hosts;
    this.projects = new Map(projects.map((p) => [p.id, p]));
    this.now = now;
  }

  private report(kind: Violation["kind"], detail: string): void {
    if (this.violations.length < this.limit) this.violations.push({ atMs: Math.round(this.now()), kind, detail });
  }

  get count(): number {
    return this.violations.length;
  }

  /** After every claim: the host's claims fit its capacity × ratios. */
  onClaim(host: SimHost, _claim: Claim): void {
    const l = host.ledger;
    let used: Resources = ZERO;
    for (const c of l.claims.values()) used = add(used, c.flavor);
    if (used.vcpu > l.total.vcpu * l.ratios.vcpu || used.ramMb > l.total.ramMb * l.ratios.ramMb || used.diskGb > l.total.diskGb * l.ratios.diskGb) {
      this.report("overcommit", `host "${l.node}" claims ${JSON.stringify(used)} of ${JSON.stringify(l.total)} x ${JSON.stringify(l.ratios)}`);
    }
  }

  /** Periodic: quotas and anti-affinity always; two hosts per server counted (a violation only at the end). */
  sweep(final: boolean): void {
    const perProject = new Map<string, { instances: number; cores: number }>();
    const serverHosts = new Map<string, string[]>();
    const groupHosts = new Map<string, Set<string>>();
    for (const h of this.hosts) {
      for (const c of h.ledger.claims.values()) {
        const list = serverHosts.get(c.server);
        if (list) list.push(h.node.id);
        else serverHosts.set(c.server, [h.node.id]);
        // Quota counts servers, not claims: a server briefly claimed twice spent its quota once.
        if (!list) {
          const q = perProject.get(c.project) ?? { instances: 0, cores: 0 };
          q.instances++;
          q.cores += c.flavor.vcpu;
          perProject.set(c.project, q);
        }
        if (c.group) {
          const set = groupHosts.get(c.group) ?? new Set<string>();
          if (set.has(h.node.id)) this.report("anti-affinity", `group "${c.group}" has two servers on host "${h.node.id}"`);
          set.add(h.node.id);
          groupHosts.set(c.group, set);
        }
      }
    }
    for (const [id, q] of perProject) {
      const p = this.projects.get(id);
      if (p && (q.instances > p.instancesLimit || q.cores > p.coresLimit)) this.report("quota", `project "${id}" runs ${q.instances} instances / ${q.cores} cores; limits ${p.instancesLimit} / ${p.coresLimit}`);
    }
    for (const [server, hosts] of serverHosts) {
      if (hosts.length < 2) continue;
      if (final) this.report("duplicate-host", `server "${server}" is claimed on ${hosts.join(", ")}`);
      else this.transientDuplicates++;
    }
  }

  /** After the liveness phase: every up node's catalog equals every other's; capacity views match the ledgers. */
  converged(): { catalog: boolean; views: boolean } {
    const up = this.hosts.filter((h) => h.node.up);
    let catalog = true;
    const digests = up.filter((h) => h.store).map((h) => JSON.stringify(h.store?.digest()));
    for (const d of digests) if (d !== digests[0]) catalog = false;
    if (!catalog) this.report("catalog-diverged", `${new Set(digests).size} distinct catalog digests among ${digests.length} nodes`);
    const truth = new Map(this.hosts.map((h) => [h.node.id, h.ledger.capacity(true).used]));
    let stale = 0;
    let example = "";
    for (const h of up) {
      for (const [node, a] of h.adverts.view) {
        const t = truth.get(node);
        if (!t || (t.vcpu === a.used.vcpu && t.ramMb === a.used.ramMb && t.diskGb === a.used.diskGb)) continue;
        stale++;
        example ||= `node "${h.node.id}" sees host "${node}" using ${JSON.stringify(a.used)}, it uses ${JSON.stringify(t)}`;
      }
    }
    if (stale > 0) this.report("capacity-view-stale", `${stale} stale view entries, e.g. ${example}`);
    return { catalog, views: stale === 0 };
  }
}
