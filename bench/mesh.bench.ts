// Mesh benchmark on real `peerstack node` processes (loopback): write-to-visible-everywhere latency
// (p50/p99) for 5 and 20 nodes, gossip messages/s under a write load, RSS per node.
// Usage: node bench/mesh.bench.ts [sizes=5,20] [writes=100]
import { cpus, totalmem } from "node:os";
import { startMesh, waitConnected, type Mesh } from "../test/helpers/mesh-process.ts";

const sizes = (process.argv[2] ?? "5,20").split(",").map(Number);
const writes = Number(process.argv[3] ?? 100);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function sumMetric(mesh: Mesh, name: string): Promise<number> {
  return (await Promise.all(mesh.nodes.map((p) => p.metric(name)))).reduce((a, b) => a + b, 0);
}

async function bench(n: number): Promise<void> {
  const t0 = Date.now();
  // Production-like periods (adverts 2 s, anti-entropy 5 s): with 20 agents on 2 cores the idle
  // gossip of the test settings alone would eat the machine.
  const mesh = await startMesh(n, { prefix: "psmesh-bench-", spec: () => ({ args: ["--advert-ms", "2000", "--anti-entropy-ms", "5000"] }) });
  try {
    await waitConnected(mesh.nodes, Math.min(n - 1, 4), 120_000);
    await new Promise((r) => setTimeout(r, 2000)); // let gossipsub meshes form
    console.log(`${n} nodes up and connected in ${Date.now() - t0} ms`);

    // Latency: a long-poll on every node first, then the write on one node; done when all answered.
    const lat: number[] = [];
    const local: number[] = [];
    let late = 0;
    for (let i = 0; i < writes; i++) {
      const writer = mesh.nodes[i % n];
      const id = `bench-${n}-${i}`;
      const waits = mesh.nodes.filter((p) => p !== writer).map((p) => p.record("bench", id, 10_000).catch(() => undefined)); // a timed-out poll counts as a miss
      await new Promise((r) => setTimeout(r, 5)); // the long-polls are registered
      const start = process.hrtime.bigint();
      await writer.put([{ kind: "bench", id, fields: { i } }]);
      local.push(Number(process.hrtime.bigint() - start) / 1e6);
      const got = await Promise.all(waits);
      const others = mesh.nodes.filter((p) => p !== writer);
      if (got.some((r) => r === undefined)) {
        // Gossip missed someone: keep waiting (anti-entropy repairs it) and count the write as late.
        late++;
        for (let k = 0; k < 60; k++) {
          const again = await Promise.all(others.map((p, j) => (got[j] ? got[j] : p.record("bench", id, 1000).catch(() => undefined))));
          again.forEach((r, j) => (got[j] = r));
          if (got.every((r) => r !== undefined)) break;
        }
        if (got.some((r) => r === undefined)) throw new Error(`write ${id} not visible everywhere within 70 s`);
      }
      lat.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    lat.sort((a, b) => a - b);
    local.sort((a, b) => a - b);
    console.log(`nodes=${n} local durable write (HTTP round trip) ms: p50 ${pct(local, 50).toFixed(1)}  p99 ${pct(local, 99).toFixed(1)}`);
    console.log(`nodes=${n} write-to-visible-everywhere ms: p50 ${pct(lat, 50).toFixed(1)}  p99 ${pct(lat, 99).toFixed(1)}  max ${lat[lat.length - 1].toFixed(1)}  (${writes} writes, HTTP write + long-poll included; ${late} missed by gossip, repaired by anti-entropy)`);

    // Throughput: 8 concurrent writers of single-record writes for 5 s; gossip counted by every node.
    const inBefore = await sumMetric(mesh, "peerstack_gossip_messages_in_total");
    const outBefore = await sumMetric(mesh, "peerstack_gossip_messages_out_total");
    const appliedBefore = await sumMetric(mesh, "peerstack_deltas_applied_total");
    const tStart = Date.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let k = 0; Date.now() - tStart < 5000; k++) {
          await mesh.nodes[(w + k) % n].put([{ kind: "load", id: `l-${w}-${k}`, fields: { k } }]);
          done++;
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const secs = (Date.now() - tStart) / 1000;
    const gin = (await sumMetric(mesh, "peerstack_gossip_messages_in_total")) - inBefore;
    const gout = (await sumMetric(mesh, "peerstack_gossip_messages_out_total")) - outBefore;
    const applied = (await sumMetric(mesh, "peerstack_deltas_applied_total")) - appliedBefore;
    console.log(
      `nodes=${n} load: ${(done / 5).toFixed(0)} writes/s; gossip in ${(gin / secs).toFixed(0)} msg/s, out ${(gout / secs).toFixed(0)} msg/s (all nodes, adverts included); deltas applied ${(applied / secs).toFixed(0)}/s`,
    );
    const rss = mesh.nodes.map((p) => p.rssMiB()).sort((a, b) => a - b);
    console.log(`nodes=${n} RSS per node MiB: median ${pct(rss, 50).toFixed(0)}  max ${rss[rss.length - 1].toFixed(0)}`);
  } finally {
    await mesh.destroy();
  }
}

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
for (const n of sizes) await bench(n);
