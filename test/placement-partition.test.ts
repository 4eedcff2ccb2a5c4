// Issue #4 acceptance: a real 2|3 partition (five agents in network namespaces psplc-n1..5, side A =
// n1,n2 on one bridge, side B = n3,n4,n5 on another, joined by one veth pair the test takes down) with
// one project's creates on both sides: combined usage never exceeds the project's instance quota, and
// after the heal the counters agree everywhere and rights + usage = limit.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterKey } from "../node/main/identity.ts";
import { partitionNet } from "./helpers/partition-net.ts";
import { MeshProcess, waitConnected, waitFor } from "./helpers/mesh-process.ts";
import { agentEnv, createServer, FLAVORS, prepareCluster, quotaTotals, settledInvariants, withEnv, type Cluster } from "./helpers/placement-cluster.ts";

const N = 5;
const SIDE_A = new Set([1, 2]);
const LIMIT = 10;
let dir = "";
const nodes: MeshProcess[] = [];

const net = partitionNet({ prefix: "psplc", nodes: N, sideA: SIDE_A, p2pNet: "10.87.0", mgmtNet: "10.88.0" });

async function teardown(): Promise<void> {
  await Promise.all(nodes.map((p) => p.stop().catch(() => {})));
  await net.teardown();
}

describe("placement quota across a real 2|3 partition", () => {
  let c: Cluster;
  let restore = () => {};

  beforeAll(async () => {
    restore = withEnv(agentEnv());
    await net.setup();
    dir = mkdtempSync(join(tmpdir(), "psplc-part-"));
    const key = join(dir, "cluster.key");
    writeFileSync(key, newClusterKey(), { mode: 0o600 });
    for (let i = 1; i <= N; i++) {
      const dataDir = join(dir, `n${i}`);
      mkdirSync(dataDir);
      nodes.push(new MeshProcess({ name: `n${i}`, dataDir, clusterKey: key, netns: net.ns(i), listen: [`/ip4/${net.p2pIp(i)}/tcp/4001`], http: `${net.httpIp(i)}:8774`, join: i === 1 ? [] : [`/ip4/${net.p2pIp(1)}/tcp/4001`] }));
    }
    await nodes[0].start(60_000);
    await Promise.all(nodes.slice(1).map((p) => p.start(60_000)));
    await waitConnected(nodes, N - 1, 30_000);
    c = await prepareCluster(nodes, { instances: LIMIT, cores: 1000, ram: 1_000_000 });
  }, 150_000);

  afterAll(async () => {
    await teardown();
    restore();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates on both sides of the cut: combined usage <= the instance quota; conserved after the heal", async () => {
    // One server through each side first, so rights sit on both sides (minted on n1, pulled by n4).
    for (const i of [0, 3]) expect((await createServer(c, i, `pre-${i}`, FLAVORS[0].id)).status).toBe(202);
    await settledInvariants(nodes, 30_000);

    await net.cut();
    const a = [0, 1];
    const b = [2, 3, 4];
    // 12 creates per side, concurrently on both sides: 24 asked, at most 10 - 2 more can exist.
    const asks = [...Array.from({ length: 12 }, (_, k) => a[k % a.length]), ...Array.from({ length: 12 }, (_, k) => b[k % b.length])];
    const answers = await Promise.all(asks.map((front, k) => createServer(c, front, `cut-${k}`, FLAVORS[0].id)));
    const accepted = answers.filter((r) => r.status === 202);
    const refused = answers.filter((r) => r.status === 403);
    expect(accepted.length + refused.length).toBe(asks.length);
    for (const r of refused) expect(JSON.stringify(r.body)).toMatch(/Quota exceeded for instances/);
    const bySide = { A: 0, B: 0 };
    answers.forEach((r, k) => {
      if (r.status === 202) bySide[SIDE_A.has(asks[k] + 1) ? "A" : "B"]++;
    });
    console.log(`during the cut: accepted A=${bySide.A} B=${bySide.B}, refused ${refused.length} (quota exceeded)`);
    expect(bySide.A).toBeGreaterThan(0);
    expect(bySide.B).toBeGreaterThan(0);
    expect(accepted.length + 2).toBeLessThanOrEqual(LIMIT);
    // Each side settles on its own (placements on its own hosts).
    await waitFor("placements on both sides done", async () => {
      for (const idx of [a[0], b[0]]) {
        const recs = await nodes[idx].opJson<{ records: Array<{ task_state?: string }> }>("/mesh/records/server");
        if (recs.records.some((r) => r.task_state === "scheduling")) return false;
      }
      return true;
    }, 30_000, 250);

    await net.heal();
    await waitConnected(nodes, N - 1, 60_000);
    const { records, report } = await settledInvariants(nodes, 60_000);
    expect(report.overCapacity).toEqual([]);
    expect(report.claimProblems).toEqual([]);
    const live = records.filter((r) => r.status === "BUILD");
    const q = await quotaTotals(nodes, c.project, 60_000);
    console.log(`after the heal: ${live.length} servers live, quota instances usage ${q.instances.usage} of ${q.instances.limit}, rights ${q.instances.rights}`);
    expect(q.instances.usage).toBeLessThanOrEqual(LIMIT);
    expect(q.instances.usage).toBe(live.length);
    expect(live.length).toBeLessThanOrEqual(LIMIT);
    for (const r of ["instances", "cores", "ram"]) {
      expect(q[r].rights + q[r].usage).toBe(q[r].limit);
      expect(q[r].negative).toBe(0);
    }
  }, 240_000);
});
