// Runs Debian's tempest (python3-tempest) in a workspace of its own: lists the selected tests, runs
// them with a progress line per test, then reads stestr's subunit stream back into TestResults.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestResult } from "./results.ts";

// Debian's tempest imports from the system Python, not a python3 earlier on PATH (pyenv and the like)
const PYTHON = "/usr/bin/python3";
const TEMPEST = "/usr/bin/tempest";
const RESULTS_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "subunit-results.py");

export class TempestMissingError extends Error {}

export function tempestPackageDir(): string {
  if (!existsSync(TEMPEST)) throw new TempestMissingError("tempest is not installed (Debian package python3-tempest; ./peerstack installs it when run as root)");
  const r = spawnSync(PYTHON, ["-c", "import tempest, os; print(os.path.dirname(tempest.__file__))"], { encoding: "utf8" });
  if (r.status !== 0) throw new TempestMissingError(`${PYTHON} cannot import tempest: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** A tempest workspace without `tempest init` (which also writes ~/.tempest): .stestr.conf + etc/. */
export function writeWorkspace(dir: string, conf: string): string {
  const pkg = tempestPackageDir();
  mkdirSync(join(dir, "etc"), { recursive: true });
  writeFileSync(join(dir, ".stestr.conf"), `[DEFAULT]\ntest_path=${join(pkg, "test_discover")}\ntop_dir=${dirname(pkg)}\ngroup_regex=([^\\.]*\\.)*\n`);
  // stestr refuses to list or run without its repository
  if (!existsSync(join(dir, ".stestr"))) {
    const r = spawnSync("/usr/bin/stestr", ["init"], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`stestr init in ${dir} failed: ${r.stderr.trim()}`);
  }
  const confFile = join(dir, "etc", "tempest.conf");
  writeFileSync(confFile, conf, { mode: 0o600 });
  return confFile;
}

/** Every test id the selection names (tempest ids, with their attributes). */
export function listTests(workspace: string, confFile: string, regex: string): string[] {
  const r = spawnSync(TEMPEST, ["run", "--config-file", confFile, "--list-tests", "--regex", regex], { cwd: workspace, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tempest run --list-tests failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => /^tempest\./.test(l));
}

// stestr's line per test: "{0} tempest.api.…test_x[id-…] [0.31s] ... ok"
const PROGRESS = /^\{(\d+)\} (\S+(?: \([^)]*\))?) \[([\d.]+)s\] \.\.\. (ok|FAILED|SKIPPED:?.*)$/;

export interface RunOptions {
  workspace: string;
  confFile: string;
  selection: { regex: string } | { loadList: string };
  concurrency: number;
  total: number;
  outputLog: string;
  say: (line: string) => void;
}

export async function runTempest(o: RunOptions): Promise<number> {
  const args = ["run", "--config-file", o.confFile, "--concurrency", String(o.concurrency)];
  args.push(...("regex" in o.selection ? ["--regex", o.selection.regex] : ["--load-list", o.selection.loadList]));
  const log = createWriteStream(o.outputLog);
  const child = spawn(TEMPEST, args, { cwd: o.workspace, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PYTHONUNBUFFERED: "1" } });
  child.stderr.pipe(log, { end: false });
  let done = 0;
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    log.write(`${line}\n`);
    const m = PROGRESS.exec(line);
    if (!m) return;
    // class fixtures (setUpClass/tearDownClass) are not among the listed tests: no number for them
    if (m[2]!.startsWith("tempest.")) done++;
    const outcome = m[4] === "ok" ? "ok  " : m[4] === "FAILED" ? "FAIL" : "skip";
    o.say(`[${done}/${o.total}] ${outcome} ${m[2]!.split("[")[0]} (${Number(m[3]).toFixed(1)} s)`);
  });
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  await new Promise<void>((resolve) => log.end(resolve));
  return code;
}

/** The last run's subunit stream (stestr keeps it in the workspace's .stestr/), written to `out`. */
export function lastSubunit(workspace: string, out: string): Buffer {
  const r = spawnSync("/usr/bin/stestr", ["last", "--subunit"], { cwd: workspace, maxBuffer: 512 << 20 });
  if (r.status !== 0 && r.stdout.length === 0) throw new Error(`stestr last --subunit failed (${r.status}): ${r.stderr.toString().slice(-2000)}`);
  writeFileSync(out, r.stdout);
  return r.stdout;
}

export function parseSubunit(stream: Buffer): TestResult[] {
  const r = spawnSync(PYTHON, [RESULTS_SCRIPT], { input: stream, encoding: "utf8", maxBuffer: 512 << 20 });
  if (r.status !== 0) throw new Error(`reading the subunit stream failed: ${r.stderr.slice(-2000)}`);
  return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as TestResult);
}
