// One simulation run: builds the mesh from a scenario, drives the workload through the nodes' real
// code during the safety phase (with faults), stops the faults for the liveness phase, checks, and
// returns the metrics (deterministic: a function of the scenario and seed only).
import { SeededRandom } from "../protocol/random.ts";
import { CATALOG_TOPIC } from "../node/mesh/replicator.ts";
import { SimScheduler, SIM_EPOCH_MS } from "./engine/sim-clock.ts";
import { GossipRouter } from "./net/gossip.ts";
import { NO_FAULTS, SimNetwork } from "./net/network.ts";
import { SimMesh } from "./net/sim-transport.ts";
import { SimHost, type LedgerFactory } from "./host.ts";
import { Checkers, claimed } from "./checkers.ts";
import { placeVia, removeVia } from "./drive.ts";
import { runBaseline } from "./baseline.ts";
import { cdf, percentile, round4, utilisation } from "./metrics.ts";
import { drawWorkload, projectsOf } from "./workload.ts";
import { scheduleFaults } from "./faults.ts";
import type { Scenario } from "./scenario.ts";
import type { SimMetrics } from "./result.ts";

export interface RunOptions {
  ledgerFactory?: LedgerFactory;
  onProgress?: (line: string) => void;
  /** Utilisation samples over the safety phase. */
  samples?: number;
}

export interface RunOutput {
  metrics: SimMetrics;
  events: number;
  wallMs: number;
}

export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<RunOutput> {
  const wallStart = process.hrtime.bigint();
  const root = new SeededRandom(s.seed);
  const sched = new SimScheduler();
  const net = new SimNetwork({ lan: s.network.lan, wan: s.network.wan, random: root.fork("network"), sched });
  const gossip = new GossipRouter(net, root.fork("gossip"));
  const mesh = new SimMesh(net, gossip, CATALOG_TOPIC);
  const nodeRandom = root.fork("nodes");
  const skewRandom = root.fork("skew");
  const checkerRef: { current?: Checkers } = {};
  const hosts: SimHost[] = [];
  const byAz = new Map<string, SimHost[]>();
  for (const g of s.hosts) {
    for (let i = 0; i < g.count; i++) {
      const id = `n${String(hosts.length).padStart(5, "0")}`;
      const node = net.addNode(id, `${g.prefix}${i % g.sites}`);
      if (s.faults.clockSkewMs > 0) node.clock.skewMs = Math.round((skewRandom.next() * 2 - 1) * s.faults.clockSkewMs);
      const host: SimHost = new SimHost(node, mesh, {
        scenario: s,
        shape: g.shape,
        ratios: g.ratios,
        aggregates: g.aggregates,
        traits: g.traits,
        random: nodeRandom.fork(id),
        onClaim: (h) => checkerRef.current?.onClaim(h),
        sitePeers: (h) => (byAz.get(h.node.az) ?? []).filter((o) => o !== h && o.node.up && net.reachable(h.node.index, o.node.index)).map((o) => o.node.id),
        ledgerFactory: opts.ledgerFactory,
      });
      hosts.push(host);
    }
  }
  const azs = [...new Set(hosts.map((h) => h.node.az))];
  for (const az of azs) byAz.set(az, []);
  for (const h of hosts) byAz.get(h.node.az)?.push(h);
  const projects = projectsOf(s, azs);
  const arrivals = drawWorkload(s, projects, root.fork("workload"));
  const checkers = new Checkers(hosts, projects, new Map(arrivals.map((a) => [a.spec.serverId, a.spec.project])), () => sched.now() - SIM_EPOCH_MS);
  checkerRef.current = checkers;
  const samples = opts.samples ?? 60;
  const sampleEveryMs = Math.max(1000, Math.floor(s.durationMs / samples));
  const baseline = runBaseline(s, hosts.map((h) => h.ledger.state()), projects, arrivals, sampleEveryMs);

  for (const h of hosts) await h.start();
  // Each project's limits are set up on the nodes of its home AZ (node escrow: minted on the first,
  // the others pull rights by transfer; stand-in: an even share each).
  for (const p of projects) {
    const home = byAz.get(p.az) ?? [];
    for (let i = 0; i < home.length; i++) await home[i].quota.initProject(p.id, { instances: p.instancesLimit, cores: p.coresLimit }, i, home.length);
  }

  const pickRandom = root.fork("front");
  const pickFront = (az: string) => {
    const up = (byAz.get(az) ?? []).filter((h) => h.node.up);
    return up.length > 0 ? up[pickRandom.int(up.length)] : undefined;
  };
  const latencies: number[] = [];
  const attempts: number[] = [];
  const outcome = { requested: 0, placed: 0, rejected: 0, quotaRejected: 0, abandoned: 0, deleted: 0, firstRejectionMs: null as number | null, utilisationAtFirstRejection: null as number | null };
  const shapes = hosts.map((h) => h.ledger.state());
  const ledgers = () => hosts.map((h, i) => ({ used: claimed(h), total: shapes[i].total, ratios: shapes[i].ratios }));
  const at = (ms: number, fn: () => void) => sched.at(SIM_EPOCH_MS + ms, fn);

  const removeTimeoutMs = s.placement.bidTimeoutMs * 4;
  for (const a of arrivals) {
    at(a.atMs, () => {
      outcome.requested++;
      const front = pickFront(a.spec.az ?? "");
      if (!front) return void outcome.abandoned++;
      void placeVia(front, a).then((o) => {
        latencies.push(o.latencyMs);
        if (!o.ok) {
          if (o.reason === "quota") outcome.quotaRejected++;
          else {
            outcome.rejected++;
            if (outcome.firstRejectionMs === null) {
              outcome.firstRejectionMs = Math.round(sched.now() - SIM_EPOCH_MS);
              outcome.utilisationAtFirstRejection = utilisation(ledgers());
            }
          }
          return;
        }
        attempts.push(o.attempt);
        outcome.placed++;
        void front.store?.put("server", a.spec.serverId, { host: o.host, placement_attempt: o.attempt, project: a.spec.project, vcpus: a.spec.resources.vcpus }).catch(() => {});
        if (a.lifetimeMs === undefined) return;
        const remove = (tries: number) => {
          // The liveness phase takes no new work; deletions due then are left for after the run.
          if (sched.now() - SIM_EPOCH_MS > s.durationMs + (tries > 0 ? s.livenessMs / 2 : 0)) return;
          const via = pickFront(a.spec.az ?? "");
          if (!via) return void (tries < 20 && sched.after(5000, () => remove(tries + 1)));
          void removeVia(via, a, o.host, removeTimeoutMs).then((ok) => {
            if (ok) {
              outcome.deleted++;
              void via.store?.remove("server", a.spec.serverId).catch(() => {});
            } else if (tries < 20) sched.after(5000, () => remove(tries + 1));
          });
        };
        sched.after(Math.max(0, a.lifetimeMs - o.latencyMs), () => remove(0));
      });
    });
  }

  const faultLog = scheduleFaults(s, { net, hosts, at, random: root.fork("faults") });
  for (const e of faultLog.events) opts.onProgress?.(`fault: ${e}`);
  const utilSeries: Array<[number, number]> = [];
  // Safety sweeps scan every claim: a dozen per run is enough (overcommit is checked at every claim).
  const sweepEvery = Math.max(1, Math.floor(samples / 12));
  for (let t = 0, i = 0; t <= s.durationMs; t += sampleEveryMs, i++) {
    at(t, () => {
      utilSeries.push([t, utilisation(ledgers())]);
      if (i % sweepEvery === 0) checkers.sweep(false);
    });
  }
  const progress = (nowMs: number) => opts.onProgress?.(`t=${Math.round((nowMs - SIM_EPOCH_MS) / 1000)}s placed=${outcome.placed}/${outcome.requested} rejected=${outcome.rejected} events=${sched.queue.popped} violations=${checkers.count ?? 0}`);

  // Safety phase.
  await sched.runUntil(SIM_EPOCH_MS + s.durationMs, progress);
  const safetyMessages = net.totalMessages;
  // Liveness phase: faults stop; crashed nodes come back; everything must converge.
  net.faults = { ...NO_FAULTS };
  net.heal();
  for (const h of hosts) if (!h.node.up) await h.restart();
  let convergedAfterMs: number | null = null;
  const healAt = s.durationMs;
  for (let t = 500; t <= s.livenessMs; t += 500) {
    at(healAt + t, () => {
      if (convergedAfterMs !== null) return;
      const digests = hosts.filter((h) => h.store).map((h) => JSON.stringify(h.store?.digest()));
      if (digests.every((d) => d === digests[0])) convergedAfterMs = t;
    });
  }
  await sched.runUntil(SIM_EPOCH_MS + s.durationMs + s.livenessMs, progress);
  checkers.sweep(true);
  const conv = checkers.converged();

  const sortedLat = [...latencies].sort((a, b) => a - b);
  const sum = (pred: (k: string) => boolean) => [...net.counts].filter(([k]) => pred(k)).reduce((a, [, n]) => a + n, 0);
  const auctionMessages = sum((k) => k.includes("/auction/") || k.includes("/quota/"));
  const advertMessages = sum((k) => k.startsWith("gossip capacity"));
  const quotaGossip = sum((k) => k.startsWith("gossip quota"));
  const metrics: SimMetrics = {
    scenario: s.name,
    seed: s.seed,
    nodes: hosts.length,
    azs: azs.length,
    faults: faultLog,
    auction: {
      ...outcome,
      utilisation: utilSeries,
      latencyMs: { p50: round4(percentile(sortedLat, 50)), p99: round4(percentile(sortedLat, 99)), max: round4(sortedLat.at(-1) ?? 0), cdf: cdf(latencies) },
      meanAttempts: round4(attempts.reduce((a, b) => a + b, 0) / Math.max(1, attempts.length)),
      finalUtilisation: utilisation(ledgers()),
    },
    baseline,
    utilisationRatioAtFirstRejection:
      outcome.utilisationAtFirstRejection !== null && baseline.utilisationAtFirstRejection ? round4(outcome.utilisationAtFirstRejection / baseline.utilisationAtFirstRejection) : null,
    messages: {
      total: net.totalMessages,
      safetyPhase: safetyMessages,
      byCategory: Object.fromEntries([...net.counts].sort()),
      perPlacement: round4(auctionMessages / Math.max(1, outcome.requested)),
      advertsPerPlacement: round4(advertMessages / Math.max(1, outcome.requested)),
      quotaGossipPerPlacement: round4(quotaGossip / Math.max(1, outcome.requested)),
    },
    convergence: { catalog: conv.catalog, capacityViews: conv.views, catalogConvergedAfterHealMs: convergedAfterMs, transientDuplicates: checkers.transientDuplicates },
    violations: checkers.violations,
  };
  return { metrics, events: sched.queue.popped, wallMs: Number(process.hrtime.bigint() - wallStart) / 1e6 };
}
