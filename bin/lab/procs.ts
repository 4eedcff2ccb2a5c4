// The lab's processes: one detached `peerstack node` per namespace (setsid, logs and pidfile in its
// node dir), and the sweep that finds every process the lab started — agents, and the QEMU and
// dnsmasq they spawned — by the lab dir in their command line.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, closeSync } from "node:fs";
import { join, resolve } from "node:path";
import { type LabConfig, nodeDir, nodeIp, nsName } from "./config.ts";

const BIN = resolve(import.meta.dirname, "../peerstack.ts");

export function pidFile(c: LabConfig, k: number): string {
  return join(nodeDir(c, k), "agent.pid");
}
export function logFile(c: LabConfig, k: number): string {
  return join(nodeDir(c, k), "agent.log");
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** The marker every lab process carries: a path inside a node dir of this lab. */
function marker(c: LabConfig): RegExp {
  const esc = c.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${esc}/n\\d+(/|\\s|$)`);
}

/** The agent pid of node K if its pidfile names a live process that is this node's agent. */
export function agentPid(c: LabConfig, k: number): number | undefined {
  const f = pidFile(c, k);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // A process in the middle of execve (`ip netns exec` becoming node) shows an empty cmdline for a moment:
  // read again shortly rather than report a starting agent as gone (a lab up under load did).
  let cl = cmdline(pid);
  for (let i = 0; i < 5 && cl === "" && !isZombie(pid); i++) {
    Atomics.wait(PAUSE, 0, 0, 20);
    cl = cmdline(pid);
  }
  return cl.includes(` node `) && cl.includes(`${nodeDir(c, k)} `) && !isZombie(pid) ? pid : undefined;
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

export function nodeArgs(c: LabConfig, k: number): string[] {
  const args = [BIN, "node", "--data-dir", nodeDir(c, k), "--cluster-key", join(c.dir, "cluster.key"), "--name", `n${k}`,
    "--listen", `/ip4/${nodeIp(c, k)}/tcp/${c.p2pPort}`, "--http", `${nodeIp(c, k)}:${c.httpPort}`];
  if (k !== 1) args.push("--join", `/ip4/${nodeIp(c, 1)}/tcp/${c.p2pPort}`);
  return args;
}

/** Starts node K's agent detached inside its namespace; returns its pid (written to the pidfile). */
export function startAgentProcess(c: LabConfig, k: number): number {
  mkdirSync(nodeDir(c, k), { recursive: true });
  const out = openSync(logFile(c, k), "a");
  const env: NodeJS.ProcessEnv = { ...process.env, PEERSTACK_UNDERLAY: `eth0,${nodeIp(c, k)}` };
  delete env.PEERSTACK_CONFIG;
  // `ip netns exec` execs the command, so the pid is the agent's own.
  const child = spawn("ip", ["netns", "exec", nsName(c, k), process.execPath, ...nodeArgs(c, k)], {
    detached: true,
    stdio: ["ignore", out, out],
    cwd: nodeDir(c, k),
    env,
  });
  closeSync(out);
  child.unref();
  if (!child.pid) throw new Error(`starting node ${k}: no pid`);
  writeFileSync(pidFile(c, k), `${child.pid}\n`);
  return child.pid;
}

/** Every live process whose command line points into this lab's node dirs (agents, QEMU, dnsmasq). */
export function labProcesses(c: LabConfig): Array<{ pid: number; cmd: string }> {
  const re = marker(c);
  const skip = new Set([process.pid, process.ppid]);
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (skip.has(pid)) continue;
    const cl = cmdline(pid);
    if (cl && re.test(cl) && !isZombie(pid)) found.push({ pid, cmd: cl });
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after graceMs, to the given pids; resolves when none is left. */
export async function stopPids(pids: number[], graceMs = 5000): Promise<void> {
  for (const p of pids) signal(p, "SIGTERM");
  const t0 = Date.now();
  let left = pids.filter((p) => !isZombie(p));
  while (left.length > 0 && Date.now() - t0 < graceMs) {
    await sleep(100);
    left = left.filter((p) => !isZombie(p));
  }
  for (const p of left) signal(p, "SIGKILL");
  while (left.length > 0 && Date.now() - t0 < graceMs + 5000) {
    await sleep(50);
    left = left.filter((p) => !isZombie(p));
  }
}

/** Stops every process of the lab: agents first (they stop their VMs), then anything left. */
export async function stopLabProcesses(c: LabConfig): Promise<number> {
  const agents: number[] = [];
  for (let k = 1; k <= 200; k++) {
    const p = agentPid(c, k);
    if (p) agents.push(p);
  }
  await stopPids(agents);
  const rest = labProcesses(c).map((p) => p.pid);
  await stopPids(rest, 2000);
  return agents.length + rest.length;
}
