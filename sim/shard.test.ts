// Sharded runs: the shards of a run in worker threads give byte-for-byte the metrics of the same shards
// run one after another in this thread, faults included; the merge adds the shards up; a scenario that
// replicates the catalog (AZs talk to each other) cannot be sharded.
import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { loadScenario, parseScenario, ScenarioError, type Scenario } from "./scenario.ts";
import { runScenario } from "./run.ts";
import { runShard } from "./shard.ts";
import { usedAt } from "./merge.ts";

const file = fileURLToPath(new URL("./scenarios/continent-10k.json", import.meta.url));

/** continent-10k cut down to 40 hosts in 4 sites, 6 simulated minutes, with link faults and a crash. */
function small(): Scenario {
  const s = loadScenario(file);
  return {
    ...s,
    durationMs: 360_000,
    livenessMs: 20_000,
    hosts: s.hosts.map((h) => ({ ...h, count: 40, sites: 4 })),
    workload: { ...s.workload, placements: 600, ratePerSec: 2, lifetimeMeanMs: 120_000, projects: { ...s.workload.projects, count: 8 } },
    faults: { ...s.faults, loss: 0.01, duplicate: 0.01, crashes: { count: 2, downMs: 30_000 }, clockSkewMs: 50 },
    shards: 2,
  };
}

describe("sharded simulation", () => {
  it("gives the same metrics in worker threads as in process, and adds the shards up", async () => {
    const s = small();
    const workers = await runScenario(s);
    const inProcess = await runScenario(s, { inProcess: true });
    expect(JSON.stringify(workers.metrics)).toBe(JSON.stringify(inProcess.metrics));
    const m = workers.metrics;
    expect(m.nodes).toBe(40);
    expect(m.violations).toEqual([]);
    expect(m.auction.placed).toBeGreaterThan(500);
    expect(m.auction.deleted).toBeGreaterThan(0);
    // Each shard ran its half of the sites and its share of the requests.
    const a = await runShard(s, 0, 2);
    const b = await runShard(s, 1, 2);
    expect(a.nodes + b.nodes).toBe(40);
    expect(a.outcome.requested + b.outcome.requested).toBe(m.auction.requested);
    expect(a.outcome.requested).toBeGreaterThan(0);
    expect(b.outcome.requested).toBeGreaterThan(0);
    // Both shards drew the same crashes (the fault log names hosts of either shard).
    expect(a.faults).toEqual(b.faults);
    expect(m.faults.events.filter((e) => e.startsWith("crash"))).toHaveLength(2);
  }, 120_000);

  it("refuses shards with catalog replication, and bad shard counts", () => {
    const raw = { hosts: [{ count: 4, sites: 2, shape: { vcpus: 4, ramMb: 4096, diskGb: 40 }, ratios: { cpu: 1, ram: 1, disk: 1 } }], workload: { ratePerSec: 1, placements: 1, flavors: [{ name: "f", vcpus: 1, ramMb: 1, diskGb: 1, weight: 1 }], lifetimeMeanMs: 0, groups: { fraction: 0, size: 1 }, projects: { count: 1, instancesLimit: 1, coresLimit: 1 } }, durationMs: 1000 };
    expect(() => parseScenario({ ...raw, shards: 2 })).toThrow(ScenarioError);
    expect(() => parseScenario({ ...raw, shards: 2 })).toThrow(/catalog\.replicate/);
    expect(() => parseScenario({ ...raw, shards: 0, catalog: { replicate: false } })).toThrow(/shards must be/);
    expect(parseScenario({ ...raw, shards: 2, catalog: { replicate: false } }).shards).toBe(2);
    expect(parseScenario(raw).shards).toBe(1);
  });

  it("reads a shard's claimed RAM at an instant from its log of changes", () => {
    const log = [0, 0, 10, 2048, 25, 6144, 25.5, 4096];
    expect(usedAt(log, 5)).toBe(0);
    expect(usedAt(log, 10)).toBe(2048);
    expect(usedAt(log, 25.2)).toBe(6144);
    expect(usedAt(log, 1e9)).toBe(4096);
  });
});
