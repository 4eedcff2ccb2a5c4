// Reconciler benchmark (real LevelDB store, reconciler, qemu driver under the host's accelerator,
// file storage, test image with direct kernel boot): from the claim (the server record written
// with host = this node, as the auction winner does) to QEMU spawned (runtime.json of the
// instance), to status ACTIVE in the record, and to the guest's ready marker on the console.
// Usage: node bench/reconciler.bench.ts [runs, default 5]
import { existsSync } from "node:fs";
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
import { killAllQemu } from "../test/helpers/vm.ts";

const runs = Number(process.argv[2] ?? 5);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const line = (name: string, xs: number[]) => `${name}: median ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)} ms (n=${xs.length})`;
const tick = () => new Promise((r) => setTimeout(r, 5));

console.log(`machine: ${cpus()[0]!.model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);
console.log(`accelerator: ${(await hostAccel()).accel}`);
const img = await buildTestImage();
const dataDir = await mkdtemp(join(tmpdir(), "psvm-rcb"));
const images = join(dataDir, "images");
await mkdir(images);
await symlink(img.qcow2, join(images, "img1"));
await writeFile(join(images, "img1.boot.json"), JSON.stringify({ kernel: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }));
const kv = await LevelKv.open(join(dataDir, "catalog"));
const self = "bench-node";
const store = await openCrdtStore({ node: self }, { clock: systemClock, kv });
const rc = await startReconciler({ dataDir, self, store, log: pino({ level: "error" }), imageCacheDir: images, init: { resyncMs: 5_000 } });
const spawned: number[] = [];
const active: number[] = [];
const ready: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const id = `bench${i}`;
    const t0 = now();
    await store.put("server", id, { name: id, project_id: "p", flavor: { vcpus: 1, ram: 192, disk: 1 }, image_id: "img1", host: self, attempt: 1, status: "BUILD", task_state: "scheduling", desired: "active" });
    let tSpawn = 0;
    let tActive = 0;
    for (;;) {
      if (!tSpawn && existsSync(join(dataDir, "instances", id, "runtime.json"))) tSpawn = now() - t0;
      if (!tActive && store.get("server", id)?.status === "ACTIVE") tActive = now() - t0;
      if (tActive && (await readFile(join(dataDir, "instances", id, "console.log"), "utf8").catch(() => "")).includes("PEERSTACK-READY")) break;
      if (now() - t0 > 120_000) throw new Error(`${id}: no ready marker within 120 s`);
      await tick();
    }
    spawned.push(tSpawn || tActive);
    active.push(tActive);
    ready.push(now() - t0);
    await store.put("server", id, { desired: "deleted" });
    while (store.get("server", id)) await tick();
  }
  console.log(line("claim to QEMU spawned", spawned));
  console.log(line("claim to ACTIVE", active));
  console.log(line("claim to guest ready marker", ready));
} finally {
  await rc.stop();
  await killAllQemu(join(dataDir, "instances"));
  await store.stop();
  await kv.close();
  await rm(dataDir, { recursive: true, force: true });
}
