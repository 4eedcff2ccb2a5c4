// The volume reconciler over a real CrdtStore (MemoryKv), a ManualClock, the real file storage driver
// (qemu-img in a temp dir) and a fake compute driver that records hot-plug calls.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { VolumeDisk } from "../../drivers/compute/interface.ts";
import { localRunner } from "../../drivers/run.ts";
import { fileStorage } from "../../drivers/storage/file.ts";
import type { StorageDriver } from "../../drivers/storage/interface.ts";
import { IMAGE, SERVER } from "../../protocol/records.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { openCrdtStore, type CrdtStore } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { FakeCompute } from "./testing.ts";
import { SNAPSHOT, VOLUME } from "./volume.ts";
import { volumeReconciler, type VolumeReconciler } from "./volumes.ts";

const SELF = "node-a";

class PlugCompute extends FakeCompute {
  readonly plugged = new Map<string, Set<string>>();
  async attachVolume(id: string, disk: VolumeDisk) {
    if (this.vms.get(id)?.state !== "running") throw new Error(`server ${id} not running`);
    if (!existsSync(disk.path)) throw new Error(`no file ${disk.path}`);
    this.calls.push(`attach ${id} ${disk.volumeId}`);
    this.plugged.set(id, new Set([...(this.plugged.get(id) ?? []), disk.volumeId]));
  }
  async detachVolume(id: string, volumeId: string) {
    this.calls.push(`detach ${id} ${volumeId}`);
    this.plugged.get(id)?.delete(volumeId);
  }
  async volumeAttached(id: string, volumeId: string) {
    return this.plugged.get(id)?.has(volumeId) ?? false;
  }
}

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

async function setup(storageWrap?: (s: StorageDriver) => StorageDriver) {
  const dir = mkdtempSync(join(tmpdir(), "psvol-rec-"));
  dirs.push(dir);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const store: CrdtStore = await openCrdtStore({ node: SELF }, { clock, kv: new MemoryKv() });
  await store.put(IMAGE, "img1", { status: "active", disk_format: "qcow2" });
  const compute = new PlugCompute();
  const base = fileStorage({ root: join(dir, "storage"), runner: localRunner });
  const storage = storageWrap ? storageWrap(base) : base;
  await storage.init();
  const image = join(dir, "img.qcow2");
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
  const fetched: string[] = [];
  const images = {
    async localPath(id: string) {
      fetched.push(id);
      if (id !== "img1") throw new Error(`image "${id}" has no holder`);
      return image;
    },
  };
  const r: VolumeReconciler = volumeReconciler({ resyncMs: 5_000, detachTimeoutMs: 1000 })({ self: SELF, clock, store, compute, storage, images });
  await r.start();
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await r.idle();
      await new Promise((res) => setImmediate(res));
    }
    await r.idle();
  };
  return { clock, store, compute, storage, fetched, r, settle };
}

const vol = (extra: Record<string, unknown> = {}) => ({ project_id: "p1", size: 1, status: "creating", host: SELF, attachments: [], pristine: true, ...extra });

describe("volume reconciler", () => {
  it("creating → available (blank and from an image); a failure → error with a fault naming the volume; other hosts' records ignored", async () => {
    const t = await setup((s) => ({ ...s, createVolume: (id, size, o) => (id === "bad" ? Promise.reject(new Error("disk on fire")) : s.createVolume(id, size, o)) }));
    await t.store.put(VOLUME, "v1", vol());
    await t.store.put(VOLUME, "v2", vol({ image_id: "img1", size: 2 }));
    await t.store.put(VOLUME, "bad", vol());
    await t.store.put(VOLUME, "elsewhere", vol({ host: "node-b" }));
    await t.settle();
    expect(t.store.get(VOLUME, "v1")?.status).toBe("available");
    expect(t.store.get(VOLUME, "v2")?.status).toBe("available");
    expect(t.fetched).toEqual(["img1"]);
    const list = await t.storage.list();
    expect(list.find((x) => x.id === "v1")).toMatchObject({ kind: "volume", sizeBytes: 2 ** 30 });
    expect(list.find((x) => x.id === "v2")).toMatchObject({ kind: "volume", sizeBytes: 2 * 2 ** 30, origin: { kind: "image", id: "img1" } });
    expect(t.store.get(VOLUME, "bad")).toMatchObject({ status: "error", fault: { message: 'creating volume "bad": disk on fire' } });
    expect(t.store.get(VOLUME, "elsewhere")?.status).toBe("creating");
    expect(list.some((x) => x.id === "elsewhere")).toBe(false);
    await t.r.stop();
  });

  it("attach to a running server → hot-plugged, in-use with Cinder attachments; stopped server: plugged when it runs again; detach → available", async () => {
    const t = await setup();
    await t.store.put(VOLUME, "v1", vol());
    await t.settle();
    await t.compute.create({ id: "s1", memoryMb: 128, disks: [{ path: "/x" }], nics: [] });
    await t.store.put(SERVER, "s1", { host: SELF, status: "ACTIVE", volumes_attached: [{ volumeId: "v1", device: "/dev/vdb" }] });
    await t.settle();
    const v = t.store.get(VOLUME, "v1")!;
    expect(v.status).toBe("in-use");
    expect(v.attachments).toEqual([{ id: "v1", attachment_id: expect.stringMatching(/^[0-9a-f]{8}-/), volume_id: "v1", server_id: "s1", host_name: SELF, device: "/dev/vdb", attached_at: expect.any(String) }]);
    expect(t.compute.calls.filter((c) => c.startsWith("attach"))).toEqual(["attach s1 v1"]);

    // QEMU stopped and started again (a new process without the disk): plugged again once it runs
    await t.compute.stop("s1");
    t.compute.plugged.clear();
    await t.store.put(SERVER, "s1", { status: "SHUTOFF" });
    await t.settle();
    expect(t.store.get(VOLUME, "v1")?.status).toBe("in-use");
    expect(t.compute.calls.filter((c) => c.startsWith("attach"))).toHaveLength(1);
    await t.compute.start("s1");
    await t.store.put(SERVER, "s1", { status: "ACTIVE" });
    await t.settle();
    expect(t.compute.plugged.get("s1")?.has("v1")).toBe(true);

    await t.store.put(SERVER, "s1", { volumes_attached: [] });
    await t.settle();
    expect(t.compute.calls).toContain("detach s1 v1");
    expect(t.store.get(VOLUME, "v1")).toMatchObject({ status: "available", attachments: [] });
    await t.r.stop();
  });

  it("a pristine volume re-homed to this host at attach time is made here; the old host removes its copy", async () => {
    const t = await setup();
    await t.store.put(VOLUME, "v1", vol());
    await t.settle();
    expect((await t.storage.list()).some((x) => x.id === "v1")).toBe(true);
    await t.store.put(VOLUME, "v1", { host: "node-b", status: "attaching" }); // re-homed away from us
    await t.store.put(VOLUME, "v2", vol({ host: SELF, status: "attaching" })); // re-homed to us, never made here
    await t.compute.create({ id: "s2", memoryMb: 128, disks: [{ path: "/x" }], nics: [] });
    await t.store.put(SERVER, "s2", { host: SELF, status: "ACTIVE", volumes_attached: [{ volumeId: "v2", device: "/dev/vdb" }] });
    await t.settle();
    expect(t.store.get(VOLUME, "v2")?.status).toBe("in-use");
    expect(t.compute.plugged.get("s2")?.has("v2")).toBe(true);
    await t.r.resync();
    expect((await t.storage.list()).map((x) => x.id)).toEqual(["v2"]);
    await t.r.stop();
  });

  it("snapshots: creating → available, deleting → removed; a deleting volume goes with its deleting snapshots; data gone", async () => {
    const t = await setup();
    await t.store.put(VOLUME, "v1", vol());
    await t.settle();
    await t.store.put(SNAPSHOT, "s1", { project_id: "p1", volume_id: "v1", size: 1, status: "creating", host: SELF });
    await t.settle();
    expect(t.store.get(SNAPSHOT, "s1")?.status).toBe("available");
    expect((await t.storage.list()).find((x) => x.id === "s1")?.kind).toBe("snapshot");
    await t.store.put(SNAPSHOT, "s2", { project_id: "p1", volume_id: "v1", size: 1, status: "creating", host: SELF });
    await t.settle();
    await t.store.put(SNAPSHOT, "s2", { status: "deleting" });
    await t.settle();
    expect(t.store.get(SNAPSHOT, "s2")).toBeUndefined();
    await t.store.put(SNAPSHOT, "s1", { status: "deleting" });
    await t.store.put(VOLUME, "v1", { status: "deleting" });
    await t.settle();
    expect(t.store.get(VOLUME, "v1")).toBeUndefined();
    expect(t.store.get(SNAPSHOT, "s1")).toBeUndefined();
    expect(await t.storage.list()).toEqual([]);
    await t.r.stop();
  });
});
