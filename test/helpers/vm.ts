// Helpers for tests that boot real VMs: the cached test image, per-VM overlays, waiting for
// console markers, and a last-resort cleanup that kills every QEMU of a state dir by its pidfile.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../../drivers/run.ts";
import { buildTestImage, type TestImage } from "../../drivers/guest/test-image.ts";
import type { ComputeDriver } from "../../drivers/compute/interface.ts";

let image: Promise<TestImage> | undefined;

/** The test image, built once per process (and cached on disk across runs, keyed on its inputs). */
export function testImage(): Promise<TestImage> {
  image ??= buildTestImage({ log: (m) => process.stderr.write(`${m}\n`) });
  return image;
}

/** A copy-on-write qcow2 over `base` (what the file storage driver hands the compute driver). */
export async function overlay(base: string, path: string): Promise<string> {
  await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", path]);
  return path;
}

export function countMatches(text: string, re: RegExp): number {
  return [...text.matchAll(new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g"))].length;
}

/** Waits until the console shows `re` at least `count` times; returns the console text and the wait. */
export async function waitConsole(driver: ComputeDriver, id: string, re: RegExp, opts: { count?: number; timeoutMs?: number } = {}): Promise<{ text: string; ms: number }> {
  const count = opts.count ?? 1;
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const t0 = Date.now();
  for (;;) {
    const text = await driver.consoleLog(id);
    if (countMatches(text, re) >= count) return { text, ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Error(`server "${id}": ${re} x${count} not on the console within ${timeoutMs} ms; console tail:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILLs every QEMU whose pidfile is under stateDir/<id>/qemu.pid (afterAll safety net). */
export async function killAllQemu(stateDir: string): Promise<number> {
  let killed = 0;
  for (const id of await readdir(stateDir).catch(() => [] as string[])) {
    const pid = Number((await readFile(join(stateDir, id, "qemu.pid"), "utf8").catch(() => "")).trim());
    if (!(pid > 0)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(join(stateDir, id))) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      // gone
    }
  }
  return killed;
}

/** Pids of live qemu-system processes whose command line mentions `needle`. */
export async function qemuPidsMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = await readFile(`/proc/${d}/cmdline`, "utf8").catch(() => "");
    if (cmd.startsWith("qemu-system") && cmd.includes(needle)) out.push(Number(d));
  }
  return out;
}

/**
 * A guest user-data script that prints `PSVOL-DISKS vda=<serial> vdb=<serial>…` on the console whenever the
 * guest's virtio disks change, every `periodS`; with `heads` each entry also shows the disk's first 8
 * alphanumeric bytes (`vdb=<serial>:<bytes>`), so a test can tell which volume it sees.
 */
export function diskWatchScript(o: { periodS: number; heads?: boolean }): string {
  const head = o.heads ? `:$(head -c 8 /dev/$(basename $d) 2>/dev/null | tr -dc 'A-Za-z0-9')` : "";
  return `#!/bin/sh
last=x
while :; do
  cur=""
  for d in /sys/block/vd*; do [ -e "$d" ] && cur="$cur $(basename $d)=$(cat $d/serial 2>/dev/null)${head}"; done
  [ "$cur" != "$last" ] && echo "PSVOL-DISKS$cur" && last="$cur"
  sleep ${o.periodS}
done
`;
}
