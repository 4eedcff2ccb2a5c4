// Simulator throughput: wall time and events/s for continent-10k scaled to 100, 1,000 and 10,000 nodes
// (same per-node load and site size), plus the catalog propagation probe at each size.
// Usage: node bench/sim.bench.ts [sizes…]   (default 100 1000 10000)
import os from "node:os";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../sim/scenario.ts";
import { runScenario } from "../sim/run.ts";
import { scaleScenario } from "../sim/scaling.ts";
import { catalogProbe } from "../sim/probe.ts";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const cpus = os.cpus();
console.log(`machine: ${cpus[0]?.model}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, load average ${os.loadavg()[0].toFixed(1)}`);
const base = loadScenario(fileURLToPath(new URL("../sim/scenarios/continent-10k.json", import.meta.url)));
for (const nodes of sizes.length > 0 ? sizes : [100, 1000, 10000]) {
  const r = await runScenario(scaleScenario(base, nodes));
  const m = r.metrics;
  console.log(
    `sim ${nodes} nodes, ${m.auction.requested} placements, ${base.durationMs / 60_000} simulated min: wall ${(r.wallMs / 1000).toFixed(1)} s, ${r.events} events, ${Math.round(r.events / (r.wallMs / 1000))} events/s; ` +
      `auction msgs/placement ${m.messages.perPlacement}, advert gossip msgs/placement ${m.messages.advertsPerPlacement}; util at first rejection ${m.utilisationRatioAtFirstRejection ?? "n/a"} of baseline; violations ${m.violations.length}`,
  );
  const p = await catalogProbe(nodes, 20);
  console.log(`catalog probe ${nodes} nodes, 20 ms links: 99.9 % in ${p.p999Ms} ms, all in ${p.allMs} ms, ${p.messages} messages`);
}
