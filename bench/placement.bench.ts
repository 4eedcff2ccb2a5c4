// In-memory placement benchmark: the real ledger/adverts/bidder/requester over MemoryNetwork with a
// ManualClock (1 ms links). Per mesh size: decision latency (virtual ms, request to award), CPU time
// per placement, placements/s of wall time, and auction messages per placement (goal <= 2k+3).
import os from "node:os";
import { request } from "../protocol/placement/testing.ts";
import { placementMesh } from "../node/auction/testing.ts";

const PLACEMENTS = Number(process.env.PLACEMENTS ?? 300);
const SIZES = (process.env.SIZES ?? "5,50,500").split(",").map(Number);
const flavors = [
  { vcpus: 1, ramMb: 512, diskGb: 1 },
  { vcpus: 2, ramMb: 2048, diskGb: 20 },
  { vcpus: 4, ramMb: 4096, diskGb: 40 },
];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

console.log(`machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; node ${process.version}`);
console.log(`placements per size: ${PLACEMENTS} (one at a time, front node round-robin), k=3 + 1 random`);
for (const n of SIZES) {
  // Enough capacity that nothing runs out: the figure is the cost of a decision, not of a failure.
  const m = placementMesh({ nodes: n, seed: 5, advertIntervalMs: 60_000, total: { vcpus: 64, ramMb: 262144, diskGb: 4000 } });
  m.start();
  await m.clock.run(5);
  const virtual: number[] = [];
  const cpu: number[] = [];
  const msgsBefore = m.nodes.reduce((t, x) => t + x.requester.stats.messages, 0);
  const wall0 = performance.now();
  let ok = 0;
  for (let i = 0; i < PLACEMENTS; i++) {
    const front = m.nodes[i % n];
    const t0 = m.clock.now();
    const c0 = performance.now();
    const [r] = await m.settle([front.requester.place(request(`s${i}`, { resources: flavors[i % flavors.length] }))]);
    cpu.push(performance.now() - c0);
    virtual.push(m.clock.now() - t0);
    if (r.status === "fulfilled") ok++;
    await m.clock.run(3); // releases land
  }
  const wall = (performance.now() - wall0) / 1000;
  const msgs = m.nodes.reduce((t, x) => t + x.requester.stats.messages, 0) - msgsBefore;
  m.stop();
  console.log(
    `nodes=${n} placed=${ok}/${PLACEMENTS} decision p50=${pct(virtual, 50)}ms p99=${pct(virtual, 99)}ms (virtual, 1 ms links) ` +
      `cpu/placement p50=${pct(cpu, 50).toFixed(2)}ms p99=${pct(cpu, 99).toFixed(2)}ms placements/s=${(PLACEMENTS / wall).toFixed(0)} ` +
      `messages/placement=${(msgs / PLACEMENTS).toFixed(2)} (requests+answers; exchanges=${(msgs / 2 / PLACEMENTS).toFixed(2)}, goal <= ${2 * 3 + 3})`,
  );
}
