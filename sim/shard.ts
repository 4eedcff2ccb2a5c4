// One shard of a simulation run: the hosts of some AZs, driven through the nodes' real code during the
// safety phase (with faults), then the liveness phase. A run whose AZs never talk to each other (no
// catalog replication: placement, adverts and quota stay inside an AZ) splits into shards that run in
// parallel (sim/run.ts); a shard's result is a pure function of the scenario, the seed and its number.
import { SeededRandom, type Random } from "../protocol/random.ts";
import { CATALOG_TOPIC } from "../node/mesh/replicator.ts";
import { SimScheduler, SIM_EPOCH_MS } from "./engine/sim-clock.ts";
import { GossipRouter } from "./net/gossip.ts";
import { NO_FAULTS, SimNetwork } from "./net/network.ts";
import { SimMesh } from "./net/sim-transport.ts";
import { SimHost, type LedgerFactory } from "./host.ts";
import { Checkers, claimed } from "./checkers.ts";
import { placeVia, removeVia } from "./drive.ts";
import { drawWorkload, projectsOf } from "./workload.ts";
import { scheduleFaults } from "./faults.ts";
import { azsOf, inShard, planHosts } from "./plan.ts";
import type { Violation } from "./checkers.ts";
import type { Scenario } from "./scenario.ts";

/** Where a shard is, every simulated minute. */
export interface ShardTick {
  t: number;
  placed: number;
  requested: number;
  rejected: number;
  events: number;
  violations: number;
}

export function tickLine(k: ShardTick): string {
  return `t=${k.t}s placed=${k.placed}/${k.requested} rejected=${k.rejected} events=${k.events} violations=${k.violations}`;
}

export interface ShardOptions {
  ledgerFactory?: LedgerFactory;
  /** Fault lines, and progress lines unless onTick takes them. */
  onProgress?: (line: string) => void;
  onTick?: (tick: ShardTick) => void;
  /** Utilisation samples over the safety phase. */
  samples?: number;
}

/** What a shard measured, in raw sums so that shards add up (sim/merge.ts turns them into metrics). */
export interface ShardResult {
  shard: number;
  nodes: number;
  faults: { settings: Record<string, unknown>; events: string[] };
  outcome: { requested: number; placed: number; rejected: number; quotaRejected: number; abandoned: number; deleted: number };
  /** Virtual ms (unrounded) of this shard's first capacity rejection, and the RAM its hosts had claimed then. */
  firstRejectionAt: number | null;
  usedAtFirstRejection: number | null;
  /** RAM capacity of the shard's hosts (× allocation ratio). */
  capacityRam: number;
  /** Claimed RAM after every change, as [virtual ms, total] pairs (only kept when there are other shards). */
  usedLog: number[];
  /** [sample ms, claimed RAM] at each utilisation sample. */
  usedSeries: Array<[number, number]>;
  finalUsed: number;
  latencies: number[];
  attemptsSum: number;
  attemptsCount: number;
  counts: Array<[string, number]>;
  totalMessages: number;
  safetyMessages: number;
  convergence: { catalog: boolean; views: boolean; convergedAfterMs: number | null; transientDuplicates: number };
  violations: Violation[];
  events: number;
}

/** The random streams of a shard's own traffic: the whole run's when it is the only shard. */
function shardRandom(root: Random, shard: number, shards: number): Random {
  return shards === 1 ? root : root.fork(`shard ${shard} of ${shards}`);
}

export async function runShard(s: Scenario, shard: number, shards: number, opts: ShardOptions = {}): Promise<ShardResult> {
  const root = new SeededRandom(s.seed);
  const own = shardRandom(root, shard, shards);
  const sched = new SimScheduler();
  const net = new SimNetwork({ lan: s.network.lan, wan: s.network.wan, random: own.fork("network"), sched });
  const gossip = new GossipRouter(net, own.fork("gossip"));
  const mesh = new SimMesh(net, gossip, CATALOG_TOPIC);
  const nodeRandom = root.fork("nodes");
  const skewRandom = root.fork("skew");
  const checkerRef: { current?: Checkers } = {};
  const plan = planHosts(s);
  const hosts: SimHost[] = [];
  const byId = new Map<string, SimHost>();
  const byAz = new Map<string, SimHost[]>();
  for (const p of plan) {
    // Every host's skew is drawn, in order, whichever shard runs it.
    const skew = s.faults.clockSkewMs > 0 ? Math.round((skewRandom.next() * 2 - 1) * s.faults.clockSkewMs) : 0;
    if (!inShard(p.azIndex, shard, shards)) continue;
    const node = net.addNode(p.id, p.az, { ordinal: p.ordinal, azIndex: p.azIndex });
    if (s.faults.clockSkewMs > 0) node.clock.skewMs = skew;
    const g = p.group;
    const host: SimHost = new SimHost(node, mesh, {
      scenario: s,
      shape: g.shape,
      ratios: g.ratios,
      aggregates: g.aggregates,
      traits: g.traits,
      random: nodeRandom.fork(p.id),
      onClaim: (h) => checkerRef.current?.onClaim(h),
      sitePeers: (h) => (byAz.get(h.node.az) ?? []).filter((o) => o !== h && o.node.up && net.reachable(h.node.index, o.node.index)).map((o) => o.node.id),
      ledgerFactory: opts.ledgerFactory,
    });
    hosts.push(host);
    byId.set(p.id, host);
  }
  const azs = azsOf(plan);
  const localAzs = azs.filter((_, i) => inShard(i, shard, shards));
  for (const az of localAzs) byAz.set(az, []);
  for (const h of hosts) byAz.get(h.node.az)?.push(h);
  const projects = projectsOf(s, azs);
  const localAz = new Set(localAzs);
  const localProjects = projects.filter((p) => localAz.has(p.az));
  // The whole run's workload, drawn the same in every shard; this shard takes the requests of its AZs.
  const arrivals = drawWorkload(s, projects, root.fork("workload")).filter((a) => localAz.has(a.spec.az ?? ""));
  const checkers = new Checkers(hosts, localProjects, new Map(arrivals.map((a) => [a.spec.serverId, a.spec.project])), () => sched.now() - SIM_EPOCH_MS);
  checkerRef.current = checkers;
  const samples = opts.samples ?? 60;
  const sampleEveryMs = Math.max(1000, Math.floor(s.durationMs / samples));

  for (const h of hosts) await h.start();
  // Each project's limits are set up on the nodes of its home AZ (node escrow: minted on the first,
  // the others pull rights by transfer; stand-in: an even share each).
  for (const p of localProjects) {
    const home = byAz.get(p.az) ?? [];
    for (let i = 0; i < home.length; i++) await home[i].quota.initProject(p.id, { instances: p.instancesLimit, cores: p.coresLimit }, i, home.length);
  }

  const pickRandom = own.fork("front");
  const pickFront = (az: string) => {
    const up = (byAz.get(az) ?? []).filter((h) => h.node.up);
    return up.length > 0 ? up[pickRandom.int(up.length)] : undefined;
  };
  const latencies: number[] = [];
  let attemptsSum = 0;
  let attemptsCount = 0;
  const outcome = { requested: 0, placed: 0, rejected: 0, quotaRejected: 0, abandoned: 0, deleted: 0 };
  let firstRejectionAt: number | null = null;
  let usedAtFirstRejection: number | null = null;
  const shapes = hosts.map((h) => h.ledger.state());
  const capacityRam = shapes.reduce((a, h) => a + h.total.ramMb * h.ratios.ram, 0);
  const usedRam = () => {
    let used = 0;
    for (const h of hosts) used += claimed(h).ramMb;
    return used;
  };
  const at = (ms: number, fn: () => void) => sched.at(SIM_EPOCH_MS + ms, fn);

  // With other shards, the merge needs this shard's claimed RAM at another shard's first rejection.
  const usedLog: number[] = [];
  if (shards > 1) {
    let total = 0;
    const last = hosts.map((h) => claimed(h).ramMb);
    for (let i = 0; i < hosts.length; i++) total += last[i];
    usedLog.push(0, total);
    hosts.forEach((h, i) => {
      h.onLedgerChange = () => {
        const now = claimed(h).ramMb;
        if (now === last[i]) return;
        total += now - last[i];
        last[i] = now;
        usedLog.push(sched.now() - SIM_EPOCH_MS, total);
      };
    });
  }

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
            if (firstRejectionAt === null) {
              firstRejectionAt = sched.now() - SIM_EPOCH_MS;
              usedAtFirstRejection = usedRam();
            }
          }
          return;
        }
        attemptsSum += o.attempt;
        attemptsCount++;
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

  const faultLog = scheduleFaults(s, { net, hostIds: plan.map((p) => p.id), local: (id) => byId.get(id), at, random: root.fork("faults") });
  if (shard === 0) for (const e of faultLog.events) opts.onProgress?.(`fault: ${e}`);
  const usedSeries: Array<[number, number]> = [];
  // Safety sweeps scan every claim: a dozen per run is enough (overcommit is checked at every claim).
  const sweepEvery = Math.max(1, Math.floor(samples / 12));
  for (let t = 0, i = 0; t <= s.durationMs; t += sampleEveryMs, i++) {
    at(t, () => {
      usedSeries.push([t, usedRam()]);
      if (i % sweepEvery === 0) checkers.sweep(false);
    });
  }
  const progress = (nowMs: number) => {
    const tick = { t: Math.round((nowMs - SIM_EPOCH_MS) / 1000), placed: outcome.placed, requested: outcome.requested, rejected: outcome.rejected, events: sched.queue.popped, violations: checkers.count ?? 0 };
    if (opts.onTick) opts.onTick(tick);
    else opts.onProgress?.(tickLine(tick));
  };

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
  return {
    shard,
    nodes: hosts.length,
    faults: faultLog,
    outcome,
    firstRejectionAt,
    usedAtFirstRejection,
    capacityRam,
    usedLog,
    usedSeries,
    finalUsed: usedRam(),
    latencies,
    attemptsSum,
    attemptsCount,
    counts: [...net.counts],
    totalMessages: net.totalMessages,
    safetyMessages,
    convergence: { catalog: conv.catalog, views: conv.views, convergedAfterMs, transientDuplicates: checkers.transientDuplicates },
    violations: checkers.violations,
    events: sched.queue.popped,
  };
}
