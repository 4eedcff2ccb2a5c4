// Compute driver benchmark under the host's accelerator (TCG here): time from create() (the
// claim handed to the driver) to QEMU spawned (create resolves once QEMU has daemonized), and
// to the guest's ready marker on the serial console; direct kernel boot and BIOS boot.
// Usage: node bench/drivers.bench.ts [direct-boot runs, default 7] [bios runs, default 3]
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { qemuDriver } from "../drivers/compute/qemu.ts";
import { hostAccel } from "../drivers/compute/accel.ts";
import { buildTestImage } from "../drivers/guest/test-image.ts";
import { killAllQemu, overlay, waitConsole } from "../test/helpers/vm.ts";

const directRuns = Number(process.argv[2] ?? 7);
const biosRuns = Number(process.argv[3] ?? 3);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const line = (name: string, xs: number[]) =>
  `${name}: median ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)} ms (n=${xs.length})`;

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
const accel = await hostAccel();
console.log(`accelerator: ${accel.accel} (${accel.reason})`);

let t = now();
const img = await buildTestImage();
console.log(`test image (cached unless its inputs changed): ${(now() - t).toFixed(0)} ms`);

const stateDir = await mkdtemp(join(tmpdir(), "psvm-bench-"));
const driver = qemuDriver({ stateDir });
try {
  for (const [mode, runs] of [["direct", directRuns], ["bios", biosRuns]] as const) {
    const spawned: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i < runs; i++) {
      const id = `${mode}${i}`;
      const disk = await overlay(img.qcow2, join(stateDir, `${id}.qcow2`));
      t = now();
      await driver.create({
        id, memoryMb: 192, disks: [{ path: disk }], nics: [], metadata: { hostname: id },
        ...(mode === "direct" ? { kernel: { path: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline } } : {}),
      });
      spawned.push(now() - t);
      await waitConsole(driver, id, /PEERSTACK-READY/, { timeoutMs: 120_000 });
      ready.push(now() - t);
      await driver.delete(id);
    }
    if (runs === 0) continue;
    console.log(line(`${mode} boot, create() to QEMU spawned`, spawned));
    console.log(line(`${mode} boot, create() to ready marker`, ready));
  }
} finally {
  await killAllQemu(stateDir);
  await rm(stateDir, { recursive: true, force: true });
}
