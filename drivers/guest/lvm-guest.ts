// A long-lived throw-away guest for running real lvm2 in tests: this host's kernel has no
// device-mapper, so a Debian kernel boots under QEMU (TCG: /dev/kvm here is PVM) with the host's
// / shared read-only over 9p plus a tmpfs overlay, sparse files as virtio disks, and an agent on
// a virtio-serial port. `runner` runs commands in it with the same shape as the local runner.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Runner } from "../run.ts";
import { guestRunner, type GuestRunner } from "./guest-runner.ts";
import { AGENT_PORT_NAME, lvmGuestInitramfs, type GuestKernel } from "./lvm-guest-initramfs.ts";

export interface LvmGuestOptions {
  kernel: GuestKernel;
  /** Sizes in bytes of fresh sparse raw disks: /dev/vda, /dev/vdb, … in order. */
  disks: number[];
  /** Host directories shared read-write at the same path (the host's / is visible read-only). */
  shares?: string[];
  memoryMiB?: number;
  /** "tcg" unless told otherwise: the PVM /dev/kvm here cannot run a stock kernel. */
  accel?: "tcg" | "kvm";
  /** Where the initramfs is cached (default: the shared initramfs cache). */
  cacheDir?: string;
  /** Runs the few host commands the initramfs build needs (default: the local runner). */
  host?: Runner;
  bootTimeoutMs?: number;
}

export interface LvmGuest {
  runner: GuestRunner;
  /** Guest devices of the disks, in order (/dev/vda, …). */
  devices: string[];
  /** Milliseconds from spawning QEMU to the agent's READY. */
  bootMs: number;
  /** The guest's serial console so far (for failure messages). */
  console(): Promise<string>;
  stop(): Promise<void>;
}

export class GuestBootError extends Error {
  readonly code = "GUEST_BOOT_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GuestBootError";
  }
}

export async function startLvmGuest(opts: LvmGuestOptions): Promise<LvmGuest> {
  const initrd = await lvmGuestInitramfs(opts.kernel, { cacheDir: opts.cacheDir, runner: opts.host });
  const dir = await mkdtemp(join(tmpdir(), "pslvm-guest-"));
  const consoleLog = join(dir, "console.log");
  const args = [
    "-accel", opts.accel ?? "tcg", "-m", String(opts.memoryMiB ?? 1024), "-smp", "1",
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-kernel", opts.kernel.vmlinux, "-initrd", initrd,
    "-serial", `file:${consoleLog}`,
    "-device", "virtio-serial-pci",
    "-chardev", "stdio,id=agent,signal=off", "-device", `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
    "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
  ];
  const cmdline = ["console=ttyS0", "quiet", "loglevel=3", "panic=-1", "mitigations=off", "init_on_alloc=0", "nokaslr", "tsc=reliable", `ps.moddir=${opts.kernel.modulesDir}`];
  (opts.shares ?? []).forEach((p, i) => {
    args.push("-virtfs", `local,path=${resolve(p)},mount_tag=share${i},security_model=none`);
    cmdline.push(`ps.share=share${i}:${resolve(p)}`);
  });
  const devices: string[] = [];
  for (const [i, size] of opts.disks.entries()) {
    const f = join(dir, `disk${i}.img`);
    await writeFile(f, "");
    await truncate(f, size);
    args.push("-drive", `file=${f},if=none,id=d${i},format=raw,cache=unsafe`, "-device", `virtio-blk-pci,drive=d${i},serial=pslvm${i}`);
    devices.push(`/dev/vd${String.fromCharCode(97 + i)}`);
  }
  args.push("-append", cmdline.join(" "));

  const readConsole = () => readFile(consoleLog, "utf8").catch(() => "");
  const started = Date.now();
  const qemu: ChildProcess = spawn("qemu-system-x86_64", args, { stdio: ["pipe", "pipe", "pipe"] });
  let qemuStderr = "";
  qemu.stderr!.on("data", (b: Buffer) => (qemuStderr = (qemuStderr + b.toString()).slice(-4000)));
  const runner = guestRunner({ input: qemu.stdout!, output: qemu.stdin! });
  const exited = new Promise<void>((res) => qemu.once("exit", () => res()));
  qemu.once("exit", (code, signal) => {
    void readConsole().then((log) => {
      const tail = log.trim().split("\n").slice(-10).join("\n");
      runner.close(`the LVM guest's QEMU exited (${signal ?? code}): ${qemuStderr.trim()}\nconsole:\n${tail}`);
    });
  });
  qemu.stdin!.on("error", () => {}); // EPIPE after QEMU exits surfaces through the exit handler

  const stop = async () => {
    runner.close("the LVM guest was stopped");
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const bootTimeoutMs = opts.bootTimeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      runner.ready,
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`no READY within ${bootTimeoutMs} ms`)), bootTimeoutMs))),
    ]);
  } catch (cause) {
    const log = await readConsole();
    await stop();
    throw new GuestBootError(`booting the LVM test guest: ${(cause as Error).message}\n${log.split("\n").slice(-30).join("\n")}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  return { runner, devices, bootMs: Date.now() - started, console: readConsole, stop };
}
