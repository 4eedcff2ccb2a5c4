// The LVM storage driver against real lvm2: the production driver code, with a runner whose
// other end is a throw-away guest (this host's kernel has no device-mapper). One guest boot for
// the whole file; the contract suite is the one the file driver runs.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandRunner } from "../drivers/storage/interface.ts";
import { lvmStorage } from "../drivers/storage/lvm.ts";
import * as lvm from "../drivers/storage/lvm-cli.ts";
import { storageContract } from "../drivers/storage/storage.contract.ts";
import { startLvmGuest, type LvmGuest } from "../drivers/guest/lvm-guest.ts";
import { guestKernel } from "../drivers/guest/kernel.ts";
import { localRunner as host } from "../drivers/run.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const VG = "pslvm";

let guest: LvmGuest;
let workDir: string;
let t0 = 0;
/** Guest command durations by command name, for the figures printed at the end. */
const timings = new Map<string, number[]>();
let timed: CommandRunner;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "pslvm-test-"));
  guest = await startLvmGuest({
    kernel: await guestKernel(), // cached under .peerstack/cache (first run: ~15 s more)
    disks: [4 * GiB],
    shares: [workDir],
    host,
  });
  timed = {
    run: async (cmd, args, opts) => {
      const start = Date.now();
      try {
        return await guest.runner.run(cmd, args, opts);
      } finally {
        timings.set(cmd, [...(timings.get(cmd) ?? []), Date.now() - start]);
      }
    },
  };
  t0 = Date.now();
  await lvm.pvcreate(timed, guest.devices);
  await lvm.vgcreate(timed, VG, guest.devices);
}, 300_000); // first run fetches the kernel; a loaded 2-core machine boots TCG slowly

afterAll(async () => {
  if (guest) {
    const n = guest.runner.count;
    console.log(`lvm guest: boot ${guest.bootMs} ms; ${n} commands in ${Date.now() - t0} ms (${Math.round((Date.now() - t0) / n)} ms each)`);
    for (const [cmd, ms] of [...timings].sort()) {
      const s = [...ms].sort((a, b) => a - b);
      console.log(`  ${cmd.padEnd(10)} n=${String(s.length).padStart(3)} median ${s[Math.floor(s.length / 2)]} ms  max ${s[s.length - 1]} ms`);
    }
    await guest.stop();
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the LVM test guest", () => {
  it("runs commands on the Debian guest kernel, with device-mapper, and its disks", async () => {
    expect(guest.bootMs).toBeLessThan(120_000);
    const { stdout } = await guest.runner.run("sh", ["-c", "uname -r; test -e /dev/mapper/control && echo dm; ls /dev/vda"]);
    expect(stdout).toBe(`${(await guestKernel()).kver}\ndm\n/dev/vda\n`);
    expect(guest.devices).toEqual(["/dev/vda"]);
  });
});

storageContract("lvm (thin pool, real lvm2 in a guest)", async () => ({
  driver: lvmStorage({ vg: VG, runner: timed }),
  runner: timed,
  hostRunner: host,
  workDir,
}), { timeoutMs: 180_000 });

describe("lvm driver: a retry after a crash converges", () => {
  const d = () => lvmStorage({ vg: VG, runner: timed });
  const io = (path: string, cmd: string) => timed.run("qemu-io", ["-f", "raw", "-c", cmd, path]);
  let source: string;

  beforeAll(async () => {
    source = join(workDir, "crash-source.raw");
    await host.run("qemu-img", ["create", "-q", "-f", "raw", source, String(8 * MiB)]);
    await host.run("qemu-io", ["-f", "raw", "-c", `write -P 0x5a 0 ${MiB}`, source]);
    await d().init();
  });

  it("an import that died mid-copy is redone from scratch, not reused", async () => {
    // The crashed import left a partial LV holding other data where the image has zeros.
    await lvm.lvcreateThin(timed, VG, "peerstack-pool", "ps-part-img-img7", 8 * MiB);
    await io(`/dev/${VG}/ps-part-img-img7`, `write -P 0xee ${MiB} ${MiB}`);
    expect(await d().importImage("img7", source, { format: "raw" })).toMatchObject({ id: "img7", kind: "image", sizeBytes: 8 * MiB });
    const v = await d().createVolume("vol7", 1, { fromImage: "img7" });
    await io(v.path, `read -P 0x5a 0 ${MiB}`);
    await io(v.path, `read -P 0 ${MiB} ${MiB}`);
    expect((await lvm.lvs(timed, VG)).map((r) => r.name)).not.toContain("ps-part-img-img7");
  }, 180_000);

  it("a clone made but not yet grown is grown by the retry", async () => {
    await lvm.lvcreateThinSnapshot(timed, VG, "ps-img-img7", "ps-vol-vol8");
    expect((await d().list()).find((v) => v.id === "vol8")?.sizeBytes).toBe(8 * MiB);
    expect(await d().createVolume("vol8", 1, { fromImage: "img7" })).toMatchObject({ id: "vol8", sizeBytes: GiB });
    expect((await d().list()).find((v) => v.id === "vol8")?.sizeBytes).toBe(GiB);
  }, 180_000);

  it("LVs that are not peerstack's are neither listed nor touched", async () => {
    await lvm.lvcreateThin(timed, VG, "peerstack-pool", "operator-lv", 4 * MiB);
    expect((await d().list()).map((v) => `${v.kind}:${v.id}`)).toEqual(["image:img7", "volume:vol7", "volume:vol8"]);
    for (const id of ["vol7", "vol8"]) await d().delete(id);
    await d().deleteImage("img7");
    expect(await d().list()).toEqual([]);
    expect((await lvm.lvs(timed, VG)).map((r) => r.name).sort()).toEqual(["operator-lv", "peerstack-pool"]);
  }, 180_000);
});
