// The metrics of a run from its shards' raw sums (sim/shard.ts). With one shard this is exactly what
// that shard measured; with several, counts add up, utilisation is claimed RAM over capacity of all
// hosts, and the first rejection is the earliest of any shard, with every shard's claimed RAM at that
// instant (from its log of changes).
import type { BaselineResult } from "./baseline.ts";
import { cdf, percentile, round4 } from "./metrics.ts";
import type { SimMetrics } from "./result.ts";
import type { Scenario } from "./scenario.ts";
import type { ShardResult } from "./shard.ts";

/** Most violations reported, as one checker keeps (sim/checkers.ts). */
const MAX_VIOLATIONS = 50;

/** A shard's claimed RAM at virtual time t: the last logged total at or before t. */
export function usedAt(log: number[], t: number): number {
  let used = 0;
  for (let i = 0; i < log.length && log[i] <= t; i += 2) used = log[i + 1];
  return used;
}

export function mergeShards(s: Scenario, parts: ShardResult[], baseline: BaselineResult, azs: number): SimMetrics {
  const sum = (f: (r: ShardResult) => number) => parts.reduce((a, r) => a + f(r), 0);
  const capacity = sum((r) => r.capacityRam);
  const util = (used: number) => (capacity > 0 ? round4(used / capacity) : 0);
  const outcome = {
    requested: sum((r) => r.outcome.requested),
    placed: sum((r) => r.outcome.placed),
    rejected: sum((r) => r.outcome.rejected),
    quotaRejected: sum((r) => r.outcome.quotaRejected),
    abandoned: sum((r) => r.outcome.abandoned),
    deleted: sum((r) => r.outcome.deleted),
  };
  // The earliest first rejection (the lower shard number on a tie), every other shard's usage then.
  let first: ShardResult | undefined;
  for (const r of parts) if (r.firstRejectionAt !== null && (first === undefined || r.firstRejectionAt < (first.firstRejectionAt as number))) first = r;
  let utilisationAtFirstRejection: number | null = null;
  if (first) {
    const t = first.firstRejectionAt as number;
    utilisationAtFirstRejection = util(sum((r) => (r === first ? (r.usedAtFirstRejection as number) : usedAt(r.usedLog, t))));
  }
  const utilisation: Array<[number, number]> = parts[0].usedSeries.map(([t], i) => [t, util(sum((r) => r.usedSeries[i][1]))]);
  const latencies = parts.flatMap((r) => r.latencies);
  const sortedLat = [...latencies].sort((a, b) => a - b);
  const counts = new Map<string, number>();
  for (const r of parts) for (const [k, n] of r.counts) counts.set(k, (counts.get(k) ?? 0) + n);
  const byCat = (pred: (k: string) => boolean) => [...counts].filter(([k]) => pred(k)).reduce((a, [, n]) => a + n, 0);
  const auctionMessages = byCat((k) => k.includes("/auction/") || k.includes("/quota/"));
  const advertMessages = byCat((k) => k.startsWith("gossip capacity"));
  const quotaGossip = byCat((k) => k.startsWith("gossip quota"));
  const converged = parts.map((r) => r.convergence.convergedAfterMs);
  return {
    scenario: s.name,
    seed: s.seed,
    nodes: sum((r) => r.nodes),
    azs,
    faults: parts[0].faults,
    auction: {
      ...outcome,
      firstRejectionMs: first ? Math.round(first.firstRejectionAt as number) : null,
      utilisationAtFirstRejection,
      utilisation,
      latencyMs: { p50: round4(percentile(sortedLat, 50)), p99: round4(percentile(sortedLat, 99)), max: round4(sortedLat.at(-1) ?? 0), cdf: cdf(latencies) },
      meanAttempts: round4(sum((r) => r.attemptsSum) / Math.max(1, sum((r) => r.attemptsCount))),
      finalUtilisation: util(sum((r) => r.finalUsed)),
    },
    baseline,
    utilisationRatioAtFirstRejection: utilisationAtFirstRejection !== null && baseline.utilisationAtFirstRejection ? round4(utilisationAtFirstRejection / baseline.utilisationAtFirstRejection) : null,
    messages: {
      total: sum((r) => r.totalMessages),
      safetyPhase: sum((r) => r.safetyMessages),
      byCategory: Object.fromEntries([...counts].sort()),
      perPlacement: round4(auctionMessages / Math.max(1, outcome.requested)),
      advertsPerPlacement: round4(advertMessages / Math.max(1, outcome.requested)),
      quotaGossipPerPlacement: round4(quotaGossip / Math.max(1, outcome.requested)),
    },
    convergence: {
      catalog: parts.every((r) => r.convergence.catalog),
      capacityViews: parts.every((r) => r.convergence.views),
      catalogConvergedAfterHealMs: converged.some((c) => c === null) ? null : Math.max(...(converged as number[])),
      transientDuplicates: sum((r) => r.convergence.transientDuplicates),
    },
    violations: parts.flatMap((r) => r.violations).slice(0, MAX_VIOLATIONS),
  };
}
