// One simulation run: the omniscient baseline over every host, the scenario's shards (sim/shard.ts: one
// unless the scenario asks for more; several run in parallel worker threads), and their merged metrics.
// The metrics are a function of the scenario and seed only: a shard's result does not depend on
// where or beside what it ran.
import { Worker } from "node:worker_threads";
import { PeerstackError } from "../protocol/errors.ts";
import { SeededRandom } from "../protocol/random.ts";
import { Ledger } from "../node/capacity/ledger.ts";
import type { LedgerFactory } from "./host.ts";
import { runBaseline } from "./baseline.ts";
import { mergeShards } from "./merge.ts";
import { azsOf, planHosts } from "./plan.ts";
import { runShard, tickLine, type ShardResult, type ShardTick } from "./shard.ts";
import { drawWorkload, projectsOf } from "./workload.ts";
import type { Scenario } from "./scenario.ts";
import type { SimMetrics } from "./result.ts";

export interface RunOptions {
  ledgerFactory?: LedgerFactory;
  onProgress?: (line: string) => void;
  /** Utilisation samples over the safety phase. */
  samples?: number;
  /** Run a sharded scenario's shards one after another in this thread (a ledgerFactory forces it). */
  inProcess?: boolean;
}

export interface RunOutput {
  metrics: SimMetrics;
  events: number;
  wallMs: number;
}

/** A shard that failed in its worker thread. */
export class ShardFailedError extends PeerstackError {
  constructor(scenario: string, shard: number, cause: unknown) {
    super("SIM_SHARD_FAILED", `scenario "${scenario}": shard ${shard} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** One progress line for all shards: printed when the slowest shard enters a new simulated minute. */
function progressOfShards(shards: number, out: ((line: string) => void) | undefined): (shard: number, tick: ShardTick) => void {
  const latest: (ShardTick | undefined)[] = new Array(shards).fill(undefined);
  let printedMinute = -1;
  return (shard, tick) => {
    latest[shard] = tick;
    if (!out || latest.some((k) => k === undefined)) return;
    const ticks = latest as ShardTick[];
    const minute = Math.floor(Math.min(...ticks.map((k) => k.t)) / 60);
    if (minute <= printedMinute) return;
    printedMinute = minute;
    const sum = (f: (k: ShardTick) => number) => ticks.reduce((a, k) => a + f(k), 0);
    out(`${tickLine({ t: Math.min(...ticks.map((k) => k.t)), placed: sum((k) => k.placed), requested: sum((k) => k.requested), rejected: sum((k) => k.rejected), events: sum((k) => k.events), violations: sum((k) => k.violations) })} (${shards} shards)`);
  };
}

function inWorker(s: Scenario, shard: number, shards: number, opts: RunOptions, onTick: (shard: number, tick: ShardTick) => void): Promise<ShardResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./shard-worker.ts", import.meta.url), { workerData: { scenario: s, shard, shards, samples: opts.samples } });
    let done = false;
    w.on("message", (m: { progress?: string; tick?: ShardTick; result?: ShardResult }) => {
      if (m.progress !== undefined) opts.onProgress?.(m.progress);
      if (m.tick) onTick(shard, m.tick);
      if (m.result) {
        done = true;
        resolve(m.result);
      }
    });
    w.on("error", (err) => reject(new ShardFailedError(s.name, shard, err)));
    w.on("exit", (code) => {
      if (!done) reject(new ShardFailedError(s.name, shard, `worker exited with code ${code}`));
    });
  });
}

export async function runScenario(s: Scenario, opts: RunOptions = {}): Promise<RunOutput> {
  const wallStart = process.hrtime.bigint();
  const shards = s.shards;
  const plan = planHosts(s);
  const azs = azsOf(plan);
  const parallel = shards > 1 && !opts.inProcess && !opts.ledgerFactory;
  const parts: Promise<ShardResult>[] = [];
  const onTick = progressOfShards(shards, opts.onProgress);
  if (parallel) for (let i = 0; i < shards; i++) parts.push(inWorker(s, i, shards, opts, onTick));
  // The baseline sees every host and request (it runs here while the workers run theirs).
  const samples = opts.samples ?? 60;
  const sampleEveryMs = Math.max(1000, Math.floor(s.durationMs / samples));
  const projects = projectsOf(s, azs);
  const arrivals = drawWorkload(s, projects, new SeededRandom(s.seed).fork("workload"));
  const initial = plan.map((p) => new Ledger({ node: p.id, az: p.az, total: p.group.shape, ratios: p.group.ratios, aggregates: p.group.aggregates, traits: p.group.traits }).state());
  const baseline = runBaseline(s, initial, projects, arrivals, sampleEveryMs);
  const results: ShardResult[] = [];
  if (parallel) results.push(...(await Promise.all(parts)));
  else for (let i = 0; i < shards; i++) results.push(await runShard(s, i, shards, { ...opts, onProgress: shards > 1 ? (l) => opts.onProgress?.(`shard ${i + 1}/${shards}: ${l}`) : opts.onProgress }));
  const metrics = mergeShards(s, results, baseline, azs.length);
  return { metrics, events: results.reduce((a, r) => a + r.events, 0), wallMs: Number(process.hrtime.bigint() - wallStart) / 1e6 };
}
