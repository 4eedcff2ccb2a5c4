// The hypervisor process of an instance, found through its pidfile. A pid counts only if the
// process is alive (not a zombie) and its command line names this instance's QMP socket, so a
// recycled pid is never mistaken for our VM.
import { open, readFile, rm } from "node:fs/promises";
import type { InstancePaths } from "./qemu-args.ts";

export async function procState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

export async function isAlive(pid: number): Promise<boolean> {
  const s = await procState(pid);
  return s !== undefined && s !== "Z" && s !== "X";
}

/** The running QEMU of this instance, or undefined. */
export async function instancePid(paths: InstancePaths): Promise<number | undefined> {
  const pid = Number((await readFile(paths.pidfile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !(await isAlive(pid))) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.split("\0").some((a) => a.includes(paths.qmp)) ? pid : undefined;
}

/** Polls until the process is gone; true if it went within timeoutMs. */
export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Removes what a dead QEMU leaves behind (pidfile, socket). */
export async function clearRuntime(paths: InstancePaths): Promise<void> {
  await rm(paths.pidfile, { force: true });
  await rm(paths.qmp, { force: true });
}

/** qcow2 files start with "QFI\xfb"; anything else is attached raw. */
export async function detectFormat(path: string): Promise<"qcow2" | "raw"> {
  const f = await open(path);
  try {
    const st = await f.stat();
    if (st.isBlockDevice()) return "raw";
    const b = Buffer.alloc(4);
    await f.read(b, 0, 4, 0);
    return b.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb])) ? "qcow2" : "raw";
  } finally {
    await f.close();
  }
}
