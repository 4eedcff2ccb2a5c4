// `peerstack sim`: run a scenario (metrics.json + report.html), a fault swarm, or the catalog probe.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../../sim/scenario.ts";
import { runScenario } from "../../sim/run.ts";
import { renderReport } from "../../sim/report.ts";
import { runSwarm } from "../../sim/swarm.ts";
import { catalogProbe } from "../../sim/probe.ts";
import { scaleScenario, type ScalingRow } from "../../sim/scaling.ts";

const USAGE = `usage:
  peerstack sim run <scenario.json | name in sim/scenarios> [--out DIR] [--seed N] [--scaling 100,1000]
  peerstack sim swarm [scenario.json] [--seeds N] [--first-seed S]   (default: sim/scenarios/swarm-small.json)
  peerstack sim probe [--nodes 1000,10000] [--link-ms 20]
`;

/** A path, or the name of a shipped scenario ("continent-10k" → sim/scenarios/continent-10k.json). */
function scenarioPath(arg: string): string {
  if (existsSync(arg)) return arg;
  const shipped = fileURLToPath(new URL(`../../sim/scenarios/${arg.replace(/\.json$/, "")}.json`, import.meta.url));
  return existsSync(shipped) ? relative(process.cwd(), shipped) : arg;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]): Promise<number> {
  const [sub, file] = args;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (sub === "run" && file) {
    const s = loadScenario(scenarioPath(file));
    const seed = flag(args, "--seed");
    if (seed) s.seed = Number(seed) >>> 0;
    const dir = flag(args, "--out") ?? join("out", "sim", s.name);
    out(`scenario ${s.name} seed ${s.seed}`);
    out(`faults ${JSON.stringify(s.faults)}`);
    if (s.shards > 1) out(`${s.shards} shards of whole AZs, in parallel worker threads`);
    const res = await runScenario(s, { onProgress: (l) => out(`  ${l}`) });
    const scaling: ScalingRow[] = [];
    for (const n of (flag(args, "--scaling") ?? "").split(",").filter(Boolean).map(Number)) {
      const r = await runScenario(scaleScenario(s, n));
      scaling.push({ nodes: n, perPlacement: r.metrics.messages.perPlacement, advertsPerPlacement: r.metrics.messages.advertsPerPlacement });
      out(`  scaling: ${n} nodes: ${r.metrics.messages.perPlacement} auction msgs/placement, ${r.metrics.messages.advertsPerPlacement} advert gossip msgs/placement`);
    }
    if (scaling.length > 0) scaling.push({ nodes: res.metrics.nodes, perPlacement: res.metrics.messages.perPlacement, advertsPerPlacement: res.metrics.messages.advertsPerPlacement });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "metrics.json"), `${JSON.stringify(res.metrics, null, 1)}\n`);
    writeFileSync(join(dir, "report.html"), renderReport(res.metrics, scaling.sort((a, b) => a.nodes - b.nodes)));
    const m = res.metrics;
    out(`placed ${m.auction.placed}/${m.auction.requested} (baseline ${m.baseline.placed}); utilisation at first rejection ${m.auction.utilisationAtFirstRejection} vs baseline ${m.baseline.utilisationAtFirstRejection} (ratio ${m.utilisationRatioAtFirstRejection})`);
    out(`messages/placement ${m.messages.perPlacement} (+${m.messages.advertsPerPlacement} advert gossip, +${m.messages.quotaGossipPerPlacement} quota gossip; quota escrow: ${s.quota.escrow}); violations ${m.violations.length}`);
    out(`wall ${(res.wallMs / 1000).toFixed(1)} s, ${res.events} events (${Math.round(res.events / (res.wallMs / 1000))}/s); wrote ${dir}/metrics.json and report.html`);
    for (const v of m.violations) out(`VIOLATION ${v.atMs} ms ${v.kind}: ${v.detail}`);
    return m.violations.length === 0 ? 0 : 1;
  }
  if (sub === "swarm") {
    const path = file && !file.startsWith("--") ? scenarioPath(file) : relative(process.cwd(), fileURLToPath(new URL("../../sim/scenarios/swarm-small.json", import.meta.url)));
    const s = loadScenario(path);
    const seeds = Number(flag(args, "--seeds") ?? 20);
    const first = Number(flag(args, "--first-seed") ?? 1);
    const failures = await runSwarm(s, path, seeds, first, { onSeed: out });
    for (const f of failures) out(`FAILED seed ${f.seed}: ${f.violations.join("; ")}\n  reproduce: ${f.command}`);
    out(`${seeds - failures.length}/${seeds} seeds passed`);
    return failures.length === 0 ? 0 : 1;
  }
  if (sub === "probe") {
    const sizes = (flag(args, "--nodes") ?? "1000,10000").split(",").map(Number);
    const linkMs = Number(flag(args, "--link-ms") ?? 20);
    for (const n of sizes) {
      const r = await catalogProbe(n, linkMs);
      out(`catalog write with ${r.linkMs} ms links: ${r.nodes} nodes, 99.9 % reached in ${r.p999Ms ?? "never"} ms, all in ${r.allMs ?? "never"} ms, ${r.messages} messages`);
    }
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}
