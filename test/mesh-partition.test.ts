// A real network partition: five agents in network namespaces (psmesh-*), side A = n1,n2 on one
// bridge, side B = n3,n4,n5 on another, the two bridges joined by one veth pair that the test takes
// down and up. Writes on both sides during the cut; after the heal all five hold identical state.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterKey } from "../node/main/identity.ts";
import { MeshProcess, waitConnected, waitConverged, waitFor } from "./helpers/mesh-process.ts";

const execFileP = promisify(execFile);
const ip = async (...args: string[]) => {
  try {
    await execFileP("ip", args, { timeout: 10_000 });
  } catch (err) {
    throw new Error(`ip ${args.join(" ")}: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
};
const ipQuiet = (...args: string[]) => execFileP("ip", args, { timeout: 10_000 }).catch(() => {});

const N = 5;
const SIDE_A = new Set([1, 2]);
let dir = "";
const nodes: MeshProcess[] = [];

async function teardown(): Promise<void> {
  await Promise.all(nodes.map((p) => p.stop().catch(() => {})));
  for (let i = 1; i <= N; i++) {
    await ipQuiet("netns", "del", `psmesh-n${i}`);
    await ipQuiet("link", "del", `psmesh-d${i}`);
    await ipQuiet("link", "del", `psmesh-m${i}`);
  }
  for (const l of ["psmesh-ab", "psmesh-bra", "psmesh-brb", "psmesh-mg"]) await ipQuiet("link", "del", l);
}

async function setupNetwork(): Promise<void> {
  await teardown(); // leftovers of a crashed run
  for (const br of ["psmesh-bra", "psmesh-brb", "psmesh-mg"]) {
    await ip("link", "add", br, "type", "bridge");
    await ip("link", "set", br, "up");
  }
  await ip("addr", "add", "10.78.0.1/24", "dev", "psmesh-mg");
  await ip("link", "add", "psmesh-ab", "type", "veth", "peer", "name", "psmesh-ba");
  await ip("link", "set", "psmesh-ab", "master", "psmesh-bra", "up");
  await ip("link", "set", "psmesh-ba", "master", "psmesh-brb", "up");
  for (let i = 1; i <= N; i++) {
    const ns = `psmesh-n${i}`;
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("link", "add", `psmesh-d${i}`, "type", "veth", "peer", "name", "d0", "netns", ns);
    await ip("link", "set", `psmesh-d${i}`, "master", SIDE_A.has(i) ? "psmesh-bra" : "psmesh-brb", "up");
    await ip("-n", ns, "addr", "add", `10.77.0.${10 + i}/24`, "dev", "d0");
    await ip("-n", ns, "link", "set", "d0", "up");
    await ip("link", "add", `psmesh-m${i}`, "type", "veth", "peer", "name", "m0", "netns", ns);
    await ip("link", "set", `psmesh-m${i}`, "master", "psmesh-mg", "up");
    await ip("-n", ns, "addr", "add", `10.78.0.${10 + i}/24`, "dev", "m0");
    await ip("-n", ns, "link", "set", "m0", "up");
  }
}

describe("partition 2|3 in network namespaces", () => {
  beforeAll(async () => {
    await setupNetwork();
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
          netns: `psmesh-n${i}`,
          listen: [`/ip4/10.77.0.${10 + i}/tcp/4001`],
          http: `10.78.0.${10 + i}:8774`,
          join: i === 1 ? [] : ["/ip4/10.77.0.11/tcp/4001"],
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

    await ip("link", "set", "psmesh-ab", "down");
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

    await ip("link", "set", "psmesh-ab", "up");
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
