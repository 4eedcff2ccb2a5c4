// `peerstack conformance`: OpenStack's own Tempest suite against a lab (issue #17). Uses the running
// lab or brings one up, makes what Tempest needs through the API, writes tempest.conf, runs tempest
// with a progress line per test and prints per area "N passed, N failed, N skipped" with the failing
// ids and a reason each. Results (subunit, JUnit, summary) go to .peerstack/conformance/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LabUsageError, parseLabArgs, type LabConfig, nodeUrl } from "../lab/config.ts";
import { ConformanceSetupError, adminOf, ensureResources } from "../conformance/resources.ts";
import { AREAS, formatSummary, junitXml, summarise, testKey, topReasons } from "../conformance/results.ts";
import { tempestConf } from "../conformance/tempest-conf.ts";
import { TempestMissingError, lastSubunit, listTests, parseSubunit, runTempest, writeWorkspace } from "../conformance/tempest-run.ts";

const USAGE = `usage: peerstack conformance [--area identity|image|network|volume|compute|interop|all] [--regex R]
                             [--concurrency N] [--out DIR] [lab flags: --dir --name --subnet --nodes]
  --area interop   the ${"267"} tests OpenStack Powered Compute 2022.11 requires (bin/conformance/interop-2022.11-required.txt)
  --area all       the whole tempest.api.{identity,image,network,volume,compute} (slow: boots guests)
  --regex R        only the tests whose id matches R (within the area when both are given)
defaults: --area interop, --concurrency 2, --out .peerstack/conformance, the default lab (brought up when down)
`;

const INTEROP_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "conformance", "interop-2022.11-required.txt");
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Options {
  area: string;
  regex?: string;
  concurrency: number;
  out: string;
  labArgs: string[];
}

function parseArgs(args: string[]): Options {
  const o: Options = { area: "interop", concurrency: 2, out: resolve(".peerstack/conformance"), labArgs: [] };
  for (let i = 0; i < args.length; i++) {
    const m = /^--(area|regex|concurrency|out)(?:=(.*))?$/.exec(args[i]!);
    if (!m) {
      o.labArgs.push(args[i]!);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new LabUsageError(`flag --${m[1]} needs a value`);
    if (m[1] === "area") o.area = value;
    else if (m[1] === "regex") o.regex = value;
    else if (m[1] === "out") o.out = resolve(value);
    else o.concurrency = Number(value);
  }
  if (![...AREAS, "interop", "all"].includes(o.area)) throw new LabUsageError(`--area "${o.area}": one of ${[...AREAS, "interop", "all"].join(", ")}`);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new LabUsageError(`--concurrency "${o.concurrency}": a positive integer`);
  if (o.regex !== undefined) new RegExp(o.regex); // a bad pattern fails here, not deep in stestr
  return o;
}

/** The interop list's keys (name + idempotent id). */
export function interopKeys(): string[] {
  return readFileSync(INTEROP_FILE, "utf8").split("\n").map((l) => l.trim()).filter((l) => l.startsWith("tempest.")).map(testKey);
}

async function labServes(c: LabConfig): Promise<boolean> {
  try {
    return (await fetch(`${nodeUrl(c, 1)}/identity/v3`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

async function ensureLab(labArgs: string[]): Promise<LabConfig> {
  const { config } = parseLabArgs(labArgs);
  if (await labServes(config)) {
    say(`lab ${config.name}: using the running lab (${nodeUrl(config, 1)})`);
    return config;
  }
  say(`lab ${config.name}: not running, bringing it up`);
  const lab = await import("./lab.ts");
  if ((await lab.run(["up", ...labArgs])) !== 0) throw new ConformanceSetupError("lab up failed");
  return parseLabArgs(labArgs).config;
}

async function conformance(o: Options): Promise<number> {
  const t0 = Date.now();
  const lab = await ensureLab(o.labArgs);
  const admin = await adminOf(lab);
  const resources = await ensureResources(admin, say);
  const workspace = join(o.out, "workspace");
  mkdirSync(workspace, { recursive: true });
  const confFile = writeWorkspace(workspace, tempestConf(admin, resources, join(o.out, "tempest.log")));
  say(`tempest workspace ${workspace} (etc/tempest.conf)`);

  const areaRegex = o.area === "all" || o.area === "interop" ? "^tempest\\.api\\.(identity|image|network|volume|compute)\\." : `^tempest\\.api\\.${o.area}\\.`;
  const listRegex = o.regex && o.area !== "interop" ? `${areaRegex}.*(?:${o.regex})` : areaRegex;
  let selected = listTests(workspace, confFile, listRegex);
  if (o.area === "interop") {
    const wanted = new Set(interopKeys());
    const user = o.regex ? new RegExp(o.regex) : undefined;
    selected = selected.filter((id) => wanted.has(testKey(id)) && (!user || user.test(id)));
    const found = new Set(selected.map(testKey));
    const missing = [...wanted].filter((k) => !found.has(k) && (!user || user.test(k)));
    if (missing.length) say(`warning: ${missing.length} interop tests are not in this tempest: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`);
  }
  if (selected.length === 0) {
    say("no tests selected");
    return 2;
  }
  const loadList = join(o.out, "selected-tests.txt");
  writeFileSync(loadList, `${selected.join("\n")}\n`);
  say(`running ${selected.length} tests (concurrency ${o.concurrency}; tempest's own output in ${join(o.out, "tempest-output.log")})`);
  await runTempest({ workspace, confFile, selection: { loadList }, concurrency: o.concurrency, total: selected.length, outputLog: join(o.out, "tempest-output.log"), say });

  const results = parseSubunit(lastSubunit(workspace, join(o.out, "results.subunit")));
  writeFileSync(join(o.out, "results.xml"), junitXml(results));
  const areas = summarise(results, selected.map(testKey));
  const summary = formatSummary(areas, (Date.now() - t0) / 1000);
  const top = topReasons(areas).map((r) => `  ${String(r.count).padStart(3)} × ${r.reason}`).join("\n");
  writeFileSync(join(o.out, "summary.txt"), `${summary}${top ? `top failure reasons:\n${top}\n` : ""}`);
  say("");
  process.stdout.write(summary);
  if (top) say(`top failure reasons:\n${top}`);
  say(`results: ${join(o.out, "results.subunit")}, ${join(o.out, "results.xml")}, ${join(o.out, "summary.txt")}`);
  return areas.some((a) => a.failed.length > 0) ? 1 : 0;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await conformance(parseArgs(args));
  } catch (err) {
    if (err instanceof LabUsageError || err instanceof SyntaxError) {
      process.stderr.write(`peerstack conformance: ${err.message}\n${USAGE}`);
      return 2;
    }
    const known = err instanceof ConformanceSetupError || err instanceof TempestMissingError;
    process.stderr.write(`peerstack conformance: ${known ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
