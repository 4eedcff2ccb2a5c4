// A command runner whose other end is a guest: the same `run(cmd, args, opts)` shape as the local
// runner, so driver code under test is exactly production code with a different runner. Requests
// go one at a time over a line-framed byte stream (a virtio-serial port via QEMU's stdio) to the
// agent in guest-agent.ts.
import type { Readable, Writable } from "node:stream";
import { createInterface } from "node:readline";
import type { RunOptions, Runner } from "../run.ts";
import { CommandError } from "../errors.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import { AGENT_READY, encodeArg } from "./guest-runner-agent.ts";

/** The guest stopped answering or went away. */
export class GuestUnavailableError extends PeerstackError {
  constructor(message: string) {
    super("GUEST_UNAVAILABLE", message);
  }
}

/** timeout(1)'s status when it had to stop the command. */
const TIMED_OUT = 124;

export interface GuestRunner extends Runner {
  /** Resolves with the guest's uptime (seconds) when the agent said READY. */
  readonly ready: Promise<number>;
  /** Commands answered so far. */
  readonly count: number;
  /** Fail all pending and future calls (the guest is gone). */
  close(reason: string): void;
}

interface Pending {
  id: number;
  cmd: string;
  args: string[];
  resolve(v: { stdout: string; stderr: string }): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** Beyond the guest's own timeout(1): time for the answer to travel back before we give up. */
const GRACE_MS = 10_000;
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

/** cwd, env and netns become wrappers in the guest (env -C, ip netns exec), as run.ts does locally. */
function wrap(cmd: string, args: string[], opts: RunOptions): string[] {
  let argv = [cmd, ...args];
  if (opts.netns) argv = ["ip", "netns", "exec", opts.netns, ...argv];
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
  if (opts.cwd || env.length > 0) argv = ["env", ...(opts.cwd ? ["-C", opts.cwd] : []), ...env, ...argv];
  return argv;
}

export function guestRunner(io: { input: Readable; output: Writable }): GuestRunner {
  let nextId = 1;
  let count = 0;
  let closed: string | undefined;
  let current: Pending | undefined;
  const queue: Array<{ p: Pending; frame: string; timeoutMs: number }> = [];
  let readyResolve!: (uptime: number) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<number>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => {});

  function pump(): void {
    if (current || closed !== undefined) return;
    const next = queue.shift();
    if (!next) return;
    current = next.p;
    const p = next.p;
    p.timer = setTimeout(() => {
      if (current !== p) return;
      current = undefined;
      p.reject(new GuestUnavailableError(`${p.cmd} ${p.args.join(" ")}: no answer from the guest within ${next.timeoutMs + GRACE_MS} ms`));
      pump();
    }, next.timeoutMs + GRACE_MS);
    io.output.write(next.frame);
  }

  function onLine(line: string): void {
    const f = line.split(" ");
    if (f[0] === AGENT_READY) {
      readyResolve(Number(f[1]));
      return;
    }
    const id = Number(f[0]);
    const p = current;
    if (!p || p.id !== id || f.length !== 4) return; // a late answer to a request we gave up on, or noise
    clearTimeout(p.timer);
    current = undefined;
    count++;
    const exitCode = Number(f[1]);
    const stdout = Buffer.from(f[2], "base64").toString("utf8");
    const stderr = Buffer.from(f[3], "base64").toString("utf8");
    if (exitCode === 0) p.resolve({ stdout, stderr });
    else if (exitCode === TIMED_OUT) p.reject(new CommandError({ cmd: p.cmd, args: p.args, exitCode: null, timedOut: true, stdout, stderr }));
    else p.reject(new CommandError({ cmd: p.cmd, args: p.args, exitCode, stdout, stderr }));
    pump();
  }

  const rl = createInterface({ input: io.input, crlfDelay: Infinity });
  rl.on("line", onLine);
  rl.on("close", () => runner.close("the guest's channel closed"));

  const runner: GuestRunner = {
    ready,
    get count() {
      return count;
    },
    run(cmd, args, opts: RunOptions = {}) {
      if (closed !== undefined) return Promise.reject(new GuestUnavailableError(`${cmd}: ${closed}`));
      const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const id = nextId++;
      const argv = wrap(cmd, args, opts).map(encodeArg).join(" ");
      const input = opts.input === undefined || opts.input.length === 0 ? "-" : b64(opts.input);
      const frame = `${id} ${Math.max(1, Math.ceil(timeoutMs / 1000))} ${input} ${argv}\n`;
      return new Promise((resolve, reject) => {
        queue.push({ p: { id, cmd, args, resolve, reject }, frame, timeoutMs });
        pump();
      });
    },
    close(reason) {
      if (closed !== undefined) return;
      closed = reason;
      readyReject(new GuestUnavailableError(reason));
      const err = new GuestUnavailableError(reason);
      if (current) {
        clearTimeout(current.timer);
        current.reject(err);
        current = undefined;
      }
      for (const q of queue.splice(0)) q.p.reject(err);
      rl.close();
    },
  };
  return runner;
}
