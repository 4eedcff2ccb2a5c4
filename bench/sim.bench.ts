// Simulator throughput: wall time and events/s for 100, 1,000 and 10,000 nodes (sites of 40 hosts,
// 10 placements per node over the run), plus the catalog propagation probe. Pass sizes as arguments.
import os from "node:os";
import { parseScenario } from "../sim/scenario.ts";
import { runScenario } from "../sim/run.ts";
import { catalogProbe } from "../sim/probe.ts";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const cpus = os.cpus();
console.log(`machine: ${cpus[0]?.model} x${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`);
for (const nodes of sizes.length > 0 ? sizes : [100, 1000, 10000]) {
  const sites = Math.max(1, Math.round(nodes / 40));
  const placements = nodes * 10;
  const s = parseScenario({
    name: `bench-${nodes}`,
    seed: 7,
    durationMs: 3_600_000,
    livenessMs: 30_000,
    hosts: [{ count: nodes, sites, prefix: "site", shape: { vcpus: 32, ramMb: 131072, diskGb: 2000 }, ratios: { cpu: 4, ram: 1, disk: 1 } }],
    workload: {
      ratePerSec: placements / 3600,
      placements,
      flavors: [{ name: "m1.small", vcpus: 1, ramMb: 2048, diskGb: 20, weight: 5 }, { name: "m1.medium", vcpus: 2, ramMb: 4096, diskGb: 40, weight: 3 }, { name: "m1.large", vcpus: 4, ramMb: 8192, diskGb: 80, weight: 2 }],
      lifetimeMeanMs: 0,
      groups: { fraction: 0.1, size: 3 },
      projects: { count: sites * 2, instancesLimit: 100000, coresLimit: 400000 },
    },
    placement: { advertRefreshMs: 300_000 },
    catalog: { replicate: false },
  });
  const r = await runScenario(s);
  console.log(`sim ${nodes} nodes, ${r.metrics.auction.requested} placements, 1 simulated hour: wall ${(r.wallMs / 1000).toFixed(1)} s, ${r.events} events, ${Math.round(r.events / (r.wallMs / 1000))} events/s, msgs/placement ${r.metrics.messages.perPlacement} (+${r.metrics.messages.advertsPerPlacement} advert gossip), violations ${r.metrics.violations.length}`);
  const p = await catalogProbe(nodes, 20);
  console.log(`catalog probe ${nodes} nodes, 20 ms links: 99.9 % in ${p.p999Ms} ms`);
}
