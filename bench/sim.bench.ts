// Simulator throughput: wall time, CPU time and events/s for continent-10k scaled to 100, 1,000 and
// 10,000 nodes (same per-node load and site size), plus the catalog propagation probe at each size.
// The machine is shared: the load average is printed before and after each run, and CPU seconds
// (user + sys of this process) next to the wall time.
// Usage: node bench/sim.bench.ts [--quota node|standin] [sizes…]   (default 100 1000 10000; quota as the scenario says)
import os from "node:os";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../sim/scenario.ts";
import { runScenario } from "../sim/run.ts";
import { scaleScenario } from "../sim/scaling.ts";
import { catalogProbe } from "../sim/probe.ts";

const args = process.argv.slice(2);
const qi = args.indexOf("--quota");
const quota = qi >= 0 ? (args.splice(qi, 2)[1] as "node" | "standin") : undefined;
const sizes = args.map(Number).filter((n) => n > 0);
const cpus = os.cpus();
const load = () => os.loadavg()[0].toFixed(1);
console.log(`machine: ${cpus[0]?.model}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, node ${process.version}, load average ${load()}`);
const base = loadScenario(fileURLToPath(new URL("../sim/scenarios/continent-10k.json", import.meta.url)));
for (const nodes of sizes.length > 0 ? sizes : [100, 1000, 10000]) {
  const scenario = scaleScenario(base, nodes);
  if (quota) scenario.quota = { escrow: quota };
  const loadBefore = load();
  const cpu0 = process.cpuUsage();
  const r = await runScenario(scenario);
  const cpu = process.cpuUsage(cpu0);
  const m = r.metrics;
  console.log(
    `sim ${nodes} nodes, ${m.auction.requested} placements, ${base.durationMs / 60_000} simulated min, quota ${scenario.quota.escrow}: wall ${(r.wallMs / 1000).toFixed(1)} s, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, ${r.events} events, ${Math.round(r.events / (r.wallMs / 1000))} events/s (load ${loadBefore} -> ${load()}); ` +
      `auction+quota msgs/placement ${m.messages.perPlacement}, advert gossip msgs/placement ${m.messages.advertsPerPlacement}, quota gossip msgs/placement ${m.messages.quotaGossipPerPlacement}; util at first rejection ${m.utilisationRatioAtFirstRejection ?? "n/a"} of baseline; violations ${m.violations.length}`,
  );
  const p = await catalogProbe(nodes, 20);
  console.log(`catalog probe ${nodes} nodes, 20 ms links: 99.9 % in ${p.p999Ms} ms, all in ${p.allMs} ms, ${p.messages} messages`);
}
