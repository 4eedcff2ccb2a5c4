// The fault swarm: per seed, draw random fault settings (loss, duplication, reordering, partitions,
// crashes, clock skew) on top of a small scenario, run it, and collect seeds whose checkers fail.
import { SeededRandom } from "../protocol/random.ts";
import type { Scenario } from "./scenario.ts";
import { runScenario, type RunOptions } from "./run.ts";

export function swarmScenario(base: Scenario, seed: number): Scenario {
  const r = new SeededRandom(seed).fork("swarm");
  const partitions = r.next() < 0.5 ? [{ atMs: Math.floor(r.next() * base.durationMs * 0.5), durationMs: Math.floor(r.next() * base.durationMs * 0.5), kind: (["split-azs", "halves", "isolate-az"] as const)[r.int(3)] }] : [];
  return {
    ...base,
    seed,
    faults: {
      loss: Math.round(r.next() * 0.2 * 1000) / 1000,
      duplicate: Math.round(r.next() * 0.1 * 1000) / 1000,
      reorder: Math.round(r.next() * 0.3 * 1000) / 1000,
      reorderMs: r.int(50),
      partitions,
      crashes: { count: r.int(4), downMs: 1000 + r.int(Math.max(1, base.durationMs / 3)) },
      clockSkewMs: r.int(500),
    },
  };
}

export interface SwarmFailure {
  seed: number;
  violations: string[];
  command: string;
}

export async function runSwarm(base: Scenario, scenarioPath: string, seeds: number, firstSeed = 1, opts: RunOptions & { onSeed?: (line: string) => void } = {}): Promise<SwarmFailure[]> {
  const failures: SwarmFailure[] = [];
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const s = swarmScenario(base, seed);
    opts.onSeed?.(`seed ${seed} faults ${JSON.stringify(s.faults)}`);
    const { metrics } = await runScenario(s, { ledgerFactory: opts.ledgerFactory });
    if (metrics.violations.length > 0) {
      failures.push({ seed, violations: metrics.violations.map((v) => `${v.kind}: ${v.detail}`), command: `./peerstack sim swarm ${scenarioPath} --seeds 1 --first-seed ${seed}` });
    }
  }
  return failures;
}
