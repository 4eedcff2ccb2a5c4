// A 2|3 partition on loopback made with each agent's connection gater (driven through the debug
// route): no root needed; the namespace test (mesh-partition.test.ts) does the same with a real link.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitConnected, waitConverged, waitFor, type Mesh, type MeshProcess } from "./helpers/mesh-process.ts";

let mesh: Mesh;

async function partition(sides: MeshProcess[][]): Promise<void> {
  await Promise.all(
    sides.flatMap((side, i) =>
      side.map(async (p) => {
        const others = sides.filter((_, j) => j !== i).flat().map((o) => o.id);
        await p.opJson("/mesh/debug/deny", { peers: others });
      }),
    ),
  );
}

describe("partition 2|3 through the connection gater", () => {
  beforeAll(async () => {
    mesh = await startMesh(5, { prefix: "psmesh-gater-" });
    await waitConnected(mesh.nodes, 4);
  }, 60_000);
  afterAll(async () => mesh?.destroy());

  it("sides diverge while cut and hold identical state within 5 s of the heal", async () => {
    const a = mesh.nodes.slice(0, 2);
    const b = mesh.nodes.slice(2);
    await partition([a, b]);
    await waitFor("sides disconnected", async () => (await Promise.all(mesh.nodes.map((p) => p.status()))).every((s, i) => s.connected === (i < 2 ? 1 : 2)), 10_000, 100);
    for (let r = 0; r < 20; r++) {
      await a[r % 2].put([{ kind: "server", id: `ga${r}`, fields: { side: "A" } }]);
      await b[r % 3].put([{ kind: "server", id: `gb${r}`, fields: { side: "B" } }]);
    }
    const dA = await waitConverged(a, 5000);
    const dB = await waitConverged(b, 5000);
    expect(dA).not.toBe(dB);
    expect(await a[1].record("server", "gb0")).toBeUndefined();
    expect(await b[0].record("server", "ga0")).toBeUndefined();

    await partition([mesh.nodes]);
    const t0 = Date.now();
    await waitConverged(mesh.nodes, 5000, 40);
    console.log(`gater partition healed: identical digests ${Date.now() - t0} ms after the heal`);
    for (const p of mesh.nodes) expect(await p.record("server", "gb19")).toBeDefined();
  });
});
