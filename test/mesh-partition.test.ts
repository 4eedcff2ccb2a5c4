// A real network partition: five agents in network namespaces (psmesh-*), side A = n1,n2 on one
// bridge, side B = n3,n4,n5 on another, the two bridges joined by one veth pair that the test takes
// down and up. Writes on both sides during the cut; after the heal all five hold identical state.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterKey } from "../node/main/identity.ts";
import { partitionNet } from "./helpers/partition-net.ts";
import { MeshProcess, waitConnected, waitConverged, waitFor } from "./helpers/mesh-process.ts";

const N = 5;
const SIDE_A = new Set([1, 2]);
let dir = "";
const nodes: MeshProcess[] = [];

const net = partitionNet({ prefix: "psmesh", nodes: N, sideA: SIDE_A, p2pNet: "10.77.0", mgmtNet: "10.78.0" });

async function teardown(): Promise<void> {
  await Promise.all(nodes.map((p) => p.stop().catch(() => {})));
  await net.teardown();
}

describe("partition 2|3 in network namespaces", () => {
  beforeAll(async () => {
    await net.setup();
    dir = mkdtempSync(join(tmpdir(), "psmesh-part-"));
    const key = join(dir, "cluster.key");
    writeFileSync(key, newClusterKey(), { mode: 0o600 });
    for (let i = 1; i <= N; i++) {
      const dataDir = join(dir, `n${i}`);
      mkdirSync(dataDir);
      nodes.push(
        new MeshProcess({
          name: `n${i}`,
          dataDir,
          clusterKey: key,
          netns: net.ns(i),
          listen: [`/ip4/${net.p2pIp(i)}/tcp/4001`],
          http: `${net.httpIp(i)}:8774`,
          join: i === 1 ? [] : [`/ip4/${net.p2pIp(1)}/tcp/4001`],
        }),
      );
    }
    await nodes[0].start();
    await Promise.all(nodes.slice(1).map((p) => p.start()));
    await waitConnected(nodes, N - 1, 20_000).catch(async (err: unknown) => {
      for (const p of nodes) console.log(p.spec.name, JSON.stringify((await p.status().catch(() => undefined))?.peers.map((x) => [x.id.slice(-4), x.connected, x.state])), p.logs.slice(-5).join("\n"));
      throw err;
    });
  }, 90_000);

  afterAll(async () => {
    await teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("writes on both sides of a cut; identical state within 5 s of the heal", async () => {
    await nodes[0].put([{ kind: "network", id: "net0", fields: { name: "before" } }]);
    await waitConverged(nodes, 5000, 1);

    await net.cut();
    const a = nodes.filter((_, i) => SIDE_A.has(i + 1));
    const b = nodes.filter((_, i) => !SIDE_A.has(i + 1));
    for (let r = 0; r < 10; r++) {
      await a[r % a.length].put([{ kind: "server", id: `a${r}`, fields: { side: "A" } }]);
      await b[r % b.length].put([{ kind: "server", id: `b${r}`, fields: { side: "B" } }]);
    }
    await a[0].put([{ kind: "network", id: "net0", fields: { name: "from A" } }]);
    await new Promise((res) => setTimeout(res, 20));
    await b[0].put([{ kind: "network", id: "net0", fields: { name: "from B" } }]); // the later write
    // Each side converges on its own and stays apart from the other.
    const dA = await waitConverged(a, 5000);
    const dB = await waitConverged(b, 5000);
    expect(dA).not.toBe(dB);
    expect(await a[0].record("server", "b0")).toBeUndefined();
    expect(await b[2].record("server", "a0")).toBeUndefined();
    // Long enough for the cut to be noticed: each side closes its connections to the other.
    const tCut = Date.now();
    await waitFor("side A disconnected from side B", async () => (await Promise.all(a.map((p) => p.status()))).every((s) => s.connected === a.length - 1), 20_000, 200);
    await waitFor("side B disconnected from side A", async () => (await Promise.all(b.map((p) => p.status()))).every((s) => s.connected === b.length - 1), 20_000, 200);
    console.log(`partition noticed (connections closed) after ${Date.now() - tCut} ms`);
    expect(await b[2].record("server", "a0")).toBeUndefined();

    await net.heal();
    const t0 = Date.now();
    await waitConverged(nodes, 5000, 21);
    console.log(`partition 2|3 healed: identical digests on 5 nodes ${Date.now() - t0} ms after the link came up`);
    for (const p of nodes) {
      expect((await p.record("network", "net0"))?.name).toBe("from B");
      expect(await p.record("server", "a9")).toBeDefined();
      expect(await p.record("server", "b9")).toBeDefined();
    }
  });
});
