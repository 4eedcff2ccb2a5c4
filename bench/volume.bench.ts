// Volume benchmark (real LevelDB store, the agent's reconcilers via startReconciler, qemu under the host's
// accelerator, qcow2 file storage, the test image with direct kernel boot): per run, a blank 1 GiB volume
// record `creating` → `available`; attached to the running server (its `volumes_attached`) → `in-use` and
// → the guest lists the disk (a user_data script prints /sys/block on the console); detached → `available`
// and → gone from the guest; `deleting` → record removed.
// Usage: node bench/volume.bench.ts [runs, default 5]
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { hostAccel } from "../drivers/compute/accel.ts";
import { buildTestImage } from "../drivers/guest/test-image.ts";
import { startReconciler } from "../node/main/reconciler-wiring.ts";
import { systemClock } from "../node/runtime/system.ts";
import { openCrdtStore } from "../node/store/crdt-store.ts";
import { LevelKv } from "../node/store/level-kv.ts";
import { diskWatchScript, killAllQemu } from "../test/helpers/vm.ts";

const runs = Number(process.argv[2] ?? 5);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const line = (name: string, xs: number[]) => `${name}: median ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)} ms (n=${xs.length})`;
const tick = () => new Promise((r) => setTimeout(r, 5));
const DISKS = diskWatchScript({ periodS: 0.1 });

console.log(`machine: ${cpus()[0]!.model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
console.log(`accelerator: ${(await hostAccel()).accel}`);
const img = await buildTestImage();
const dataDir = await mkdtemp(join(tmpdir(), "psvol-bench"));
const images = join(dataDir, "images");
await mkdir(images);
await symlink(img.qcow2, join(images, "img1"));
await writeFile(join(images, "img1.boot.json"), JSON.stringify({ kernel: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }));
const kv = await LevelKv.open(join(dataDir, "catalog"));
const self = "bench-node";
const store = await openCrdtStore({ node: self }, { clock: systemClock, kv });
const rc = await startReconciler({ dataDir, self, store, log: pino({ level: "error" }), imageCacheDir: images, init: { resyncMs: 5_000 } });
const consoleText = () => readFile(join(dataDir, "instances", "srv", "console.log"), "utf8").catch(() => "");
async function until(what: string, fn: () => Promise<boolean> | boolean, t0: number): Promise<number> {
  while (!(await fn())) {
    if (now() - t0 > 120_000) throw new Error(`no ${what} within 120 s`);
    await tick();
  }
  return now() - t0;
}
const m = { create: [] as number[], inUse: [] as number[], seen: [] as number[], detached: [] as number[], gone: [] as number[], deleted: [] as number[] };
try {
  await store.put("server", "srv", { name: "srv", project_id: "p", flavor: { vcpus: 1, ram: 192, disk: 1 }, image_id: "img1", host: self, attempt: 1, status: "BUILD", task_state: "scheduling", desired: "active", metadata: { user_data: Buffer.from(DISKS).toString("base64") } });
  await until("guest disk listing", async () => /PSVOL-DISKS vda=/.test(await consoleText()), now());
  for (let i = 0; i < runs; i++) {
    const id = `bench-vol-${i}`;
    const serial = id.slice(0, 20);
    let t0 = now();
    await store.put("volume", id, { project_id: "p", size: 1, status: "creating", host: self, attachments: [], pristine: true });
    m.create.push(await until("available", () => store.get("volume", id)?.status === "available", t0));
    const before = (await consoleText()).length;
    t0 = now();
    await store.put("server", "srv", { volumes_attached: [{ id, volumeId: id, serverId: "srv", device: "/dev/vdb" }] });
    m.inUse.push(await until("in-use", () => store.get("volume", id)?.status === "in-use", t0));
    m.seen.push(await until("disk in the guest", async () => (await consoleText()).slice(before).includes(`vdb=${serial}`), t0));
    const mid = (await consoleText()).length;
    t0 = now();
    await store.put("server", "srv", { volumes_attached: [] });
    m.detached.push(await until("available again", () => store.get("volume", id)?.status === "available", t0));
    m.gone.push(await until("disk gone from the guest", async () => /PSVOL-DISKS vda=\s*$/m.test((await consoleText()).slice(mid)), t0));
    t0 = now();
    await store.put("volume", id, { status: "deleting" });
    m.deleted.push(await until("removed", () => store.get("volume", id) === undefined, t0));
  }
  console.log(line("create 1 GiB blank: creating to available", m.create));
  console.log(line("attach: request to in-use (QMP hot-plug done)", m.inUse));
  console.log(line("attach: request to disk listed in the guest", m.seen));
  console.log(line("detach: request to available (guest released it)", m.detached));
  console.log(line("detach: request to disk gone in the guest", m.gone));
  console.log(line("delete: deleting to record removed", m.deleted));
} finally {
  await store.put("server", "srv", { desired: "deleted" });
  while (store.get("server", "srv")) await tick();
  await rc.stop();
  await store.stop();
  await kv.close();
  await killAllQemu(join(dataDir, "instances"));
  await rm(dataDir, { recursive: true, force: true });
}
