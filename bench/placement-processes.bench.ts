// Placement benchmark on real `peerstack node` processes (loopback libp2p, LevelDB, reconciler off):
// per mesh size (default 5 and 10) the auction's decision latency one at a time and under load
// (every node placing concurrently, through /peerstack/debug/place: requester -> bids -> award over
// libp2p, no API), placements/s, auction messages per placement (goal <= 2k+3 exchanges), and the
// end-to-end OpenStack API path (POST /servers -> host written, replicated).
// Usage: node bench/placement-processes.bench.ts [sizes=5,10] [perNode=300]
import { cpus, loadavg, totalmem } from "node:os";
import { startMesh, waitConnected, waitFor, type Mesh, type MeshProcess } from "../test/helpers/mesh-process.ts";
import { agentEnv, createServer, FLAVORS, prepareCluster, waitSettled, withEnv } from "../test/helpers/placement-cluster.ts";

const sizes = (process.argv[2] ?? "5,10").split(",").map(Number);
const perNode = Number(process.argv[3] ?? 300);
const K = 3;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;
const f = (x: number) => x.toFixed(1);

interface PlaceAnswer {
  ms: number[];
  failures: number;
  wallMs: number;
  messages: number;
}

async function place(p: MeshProcess, body: Record<string, unknown>): Promise<PlaceAnswer> {
  return p.opJson<PlaceAnswer>("/peerstack/debug/place", body);
}

async function bench(n: number): Promise<void> {
  const t0 = Date.now();
  const restore = withEnv(agentEnv({ vcpus: 100_000, ramMb: 100_000_000, diskGb: 10_000_000 }));
  let mesh: Mesh | undefined;
  try {
    // Agents with the default anti-entropy period (the test helper's 1 s is for fast test convergence).
    mesh = await startMesh(n, { prefix: "psplc-bench-", spec: () => ({ args: ["--anti-entropy-ms", "3000"] }) });
    await waitConnected(mesh.nodes, Math.min(n - 1, 4), 120_000);
    await waitFor("every view has every host", async () => (await Promise.all(mesh!.nodes.map((p) => p.opJson<{ hosts: number }>("/peerstack/placement/stats")))).every((s) => s.hosts >= n), 60_000, 250);
    console.log(`nodes=${n}: up, connected, views complete in ${Date.now() - t0} ms (load avg ${loadavg()[0].toFixed(1)})`);

    // One at a time: every node in turn places perNode/3 servers sequentially.
    const seq: PlaceAnswer[] = [];
    for (const [i, p] of mesh.nodes.entries()) seq.push(await place(p, { n: Math.ceil(perNode / 3), concurrency: 1, prefix: `seq-${i}` }));
    const seqMs = seq.flatMap((a) => a.ms);
    const seqMsgs = seq.reduce((t, a) => t + a.messages, 0);
    console.log(`nodes=${n} decision latency, one at a time (${seqMs.length} auctions): p50 ${f(pct(seqMs, 50))} ms  p99 ${f(pct(seqMs, 99))} ms; ` +
      `messages/placement ${(seqMsgs / seqMs.length).toFixed(2)} (requests+answers; exchanges ${(seqMsgs / 2 / seqMs.length).toFixed(2)}, goal <= ${2 * K + 3}); failures ${seq.reduce((t, a) => t + a.failures, 0)}`);

    // Under load: every node places perNode servers, 16 in flight each, all nodes at once.
    const loadT0 = performance.now();
    const load = await Promise.all(mesh.nodes.map((p, i) => place(p, { n: perNode, concurrency: 16, prefix: `load-${i}` })));
    const loadWall = performance.now() - loadT0;
    const loadMs = load.flatMap((a) => a.ms);
    const ok = loadMs.length - load.reduce((t, a) => t + a.failures, 0);
    const loadMsgs = load.reduce((t, a) => t + a.messages, 0);
    console.log(`nodes=${n} under load (${n} fronts x 16 in flight, ${loadMs.length} auctions): placements/s ${(ok / (loadWall / 1000)).toFixed(0)}; decision p50 ${f(pct(loadMs, 50))} ms  p99 ${f(pct(loadMs, 99))} ms; ` +
      `messages/placement ${(loadMsgs / loadMs.length).toFixed(2)} (exchanges ${(loadMsgs / 2 / loadMs.length).toFixed(2)}); failures ${loadMs.length - ok}`);

    // The OpenStack API end to end: POST /servers (token check, quota take, BUILD record, auction,
    // host written) over every front node, 32 in flight; done when every node has every record placed.
    const c = await prepareCluster(mesh.nodes, { instances: 1_000_000, cores: 100_000_000, ram: 1_000_000_000 });
    for (const p of mesh.nodes) await p.opJson("/peerstack/placement/stats?reset=1");
    const apiN = Math.min(500, perNode * 2);
    let next = 0;
    const answerMs: number[] = [];
    const ids = new Set<string>();
    const apiT0 = performance.now();
    await Promise.all(Array.from({ length: 32 }, async () => {
      for (let i = next++; i < apiN; i = next++) {
        const s = performance.now();
        const r = await createServer(c, i % n, `bench-${i}`, FLAVORS[i % FLAVORS.length].id);
        answerMs.push(performance.now() - s);
        if (r.status === 202) ids.add(String(r.body.server.id));
      }
    }));
    const answered = performance.now() - apiT0;
    const recs = await waitSettled(mesh.nodes, 120_000, ids);
    const settled = performance.now() - apiT0;
    const placed = recs.filter((r) => ids.has(r.id) && typeof r.host === "string").length;
    const dec = (await Promise.all(mesh.nodes.map((p) => p.opJson<{ decisionsMs: number[] }>("/peerstack/placement/stats")))).flatMap((s) => s.decisionsMs);
    console.log(`nodes=${n} API POST /servers (${apiN}, 32 in flight): answered 202 p50 ${f(pct(answerMs, 50))} ms p99 ${f(pct(answerMs, 99))} ms, ${(apiN / (answered / 1000)).toFixed(0)} creates/s; ` +
      `all ${placed} placed and replicated on ${n} nodes after ${f(settled)} ms (${(placed / (settled / 1000)).toFixed(0)} placements/s end to end); auction inside: p50 ${f(pct(dec, 50))} ms p99 ${f(pct(dec, 99))} ms`);
    const rss = mesh.nodes.map((p) => p.rssMiB()).sort((a, b) => a - b);
    console.log(`nodes=${n} RSS per node MiB: median ${rss[Math.floor(rss.length / 2)].toFixed(0)} max ${rss[rss.length - 1].toFixed(0)}`);
  } finally {
    await mesh?.destroy();
    restore();
  }
}

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; node ${process.version}; load avg ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
for (const n of sizes) await bench(n);
