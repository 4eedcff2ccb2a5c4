// THE command runner. Every driver runs host commands through a Runner, so a test can hand the
// same driver code a runner whose other end is a guest (drivers/guest/guest-runner.ts).
// Local runs: C locale, a timeout that kills the whole process group, captured output, and a
// typed CommandError on any failure. `netns` runs the command inside a network namespace.
import { spawn } from "node:child_process";
import { CommandError } from "./errors.ts";

export interface RunOptions {
  /** Kill the command (its whole process group) after this long. Default 120 s. */
  timeoutMs?: number;
  /** Written to the command's stdin (which is then closed). */
  input?: string | Uint8Array;
  /** Extra environment; the runner's base env is the agent's plus LC_ALL=C. */
  env?: Record<string, string>;
  cwd?: string;
  /** Run inside this network namespace (`ip netns exec NAME …`). */
  netns?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** What drivers depend on. drivers/storage/interface.ts CommandRunner is the same shape. */
export interface Runner {
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
/** Output beyond this is dropped (the command still runs to the end). */
const MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs one command on this host. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, argv] = opts.netns ? ["ip", ["netns", "exec", opts.netns, cmd, ...args]] : [cmd, args];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, LC_ALL: "C" },
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group, so a timeout also kills what a shell wrapper started.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on("data", (b: Buffer) => {
      if (outLen < MAX_OUTPUT) out.push(b);
      outLen += b.length;
    });
    child.stderr.on("data", (b: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(b);
      errLen += b.length;
    });
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on("error", (e) => {
      spawnError = e;
    });
    child.stdin.on("error", () => {
      // EPIPE when the command exits without reading its input: its exit status tells the story.
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (exitCode === 0 && !timedOut && !spawnError) {
        resolve({ stdout, stderr });
        return;
      }
      reject(new CommandError({ cmd, args, exitCode: timedOut || spawnError ? null : exitCode, signal, timedOut, stdout, stderr, cause: spawnError }));
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The local runner as an object, for code that takes a Runner. */
export const localRunner: Runner = { run };

/** A runner that runs everything inside `netns` (unless a call names its own). */
export function netnsRunner(base: Runner, netns: string): Runner {
  return { run: (cmd, args, opts = {}) => base.run(cmd, args, { netns, ...opts }) };
}
