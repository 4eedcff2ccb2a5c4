// The one contract every StorageDriver runs (STYLE rule 9): the file driver on the host
// (file.test.ts) and the LVM driver against real lvm2 inside a throw-away guest
// (test/lvm-driver.test.ts). Steps build on each other to keep the number of lvm commands sane.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { join } from "node:path";
import type { CommandRunner, StorageDriver } from "./interface.ts";
import { GiB } from "./interface.ts";
import { InvalidSizeError, StorageInUseError, StorageNotFoundError } from "./errors.ts";

export interface StorageHarness {
  driver: StorageDriver;
  /** Runs commands where the driver's paths are reachable (the host, or the LVM guest). */
  runner: CommandRunner;
  /** Prepares source image files (always the host). */
  hostRunner: CommandRunner;
  /** A host directory that `runner` also sees at the same path. */
  workDir: string;
  teardown?(): Promise<void>;
}

const MiB = 1024 ** 2;

/** `timeoutMs` per case: drivers whose commands run in a TCG guest need more than the default. */
export function storageContract(name: string, setup: () => Promise<StorageHarness>, opts: { timeoutMs?: number } = {}): void {
  const timeout = opts.timeoutMs ?? 30_000;
  describe(`StorageDriver contract: ${name}`, () => {
    let h: StorageHarness;
    let d: StorageDriver;
    let source: string;
    /** Checks (or writes) a 1 MiB pattern at `offsetMiB`; qemu-io exits 1 when a read does not match. */
    const io = async (id: string, op: "read" | "write", pattern: number, offsetMiB = 0) => {
      const cmd = `${op} -P 0x${pattern.toString(16)} ${offsetMiB * MiB} ${MiB}`;
      await h.runner.run("qemu-io", ["-f", d.format, "-c", cmd, d.path(id)], { timeoutMs: 60_000 });
    };
    const fails = async (p: Promise<unknown>) => expect(p).rejects.toThrow();

    beforeAll(async () => {
      h = await setup();
      d = h.driver;
      // A 64 MiB qcow2 image whose first MiB is 0x5a; the rest reads as zeros.
      source = join(h.workDir, "source.qcow2");
      await h.hostRunner.run("qemu-img", ["create", "-q", "-f", "qcow2", source, String(64 * MiB)]);
      await h.hostRunner.run("qemu-io", ["-f", "qcow2", "-c", `write -P 0x5a 0 ${MiB}`, source]);
    });
    afterAll(async () => {
      await h?.teardown?.();
    });

    it("init is idempotent; an empty pool lists nothing and reports its capacity", async () => {
      await d.init();
      await d.init();
      expect(await d.list()).toEqual([]);
      const u = await d.usage();
      expect(u.capacityBytes).toBeGreaterThan(0);
      expect(u.provisionedBytes).toBe(0);
    }, timeout);

    it("imports an image once; a volume cloned from it reads the image's data", async () => {
      const img = await d.importImage("img1", source, { format: "qcow2" });
      expect(img).toMatchObject({ id: "img1", kind: "image", sizeBytes: 64 * MiB });
      expect(await d.importImage("img1", source, { format: "qcow2" })).toMatchObject({ id: "img1", sizeBytes: 64 * MiB });
      const v = await d.createVolume("vol1", 1, { fromImage: "img1" });
      expect(v).toMatchObject({ id: "vol1", kind: "volume", sizeBytes: GiB, path: d.path("vol1"), origin: { kind: "image", id: "img1" } });
      expect(await d.createVolume("vol1", 1, { fromImage: "img1" })).toMatchObject({ id: "vol1", sizeBytes: GiB });
      await io("vol1", "read", 0x5a, 0);
      await io("vol1", "read", 0x00, 1);
      await fails(io("vol1", "read", 0x00, 0)); // the check itself can fail
    }, timeout);

    it("a blank volume reads zeros; the listing and usage show every object", async () => {
      expect(await d.createVolume("vol0", 2)).toMatchObject({ id: "vol0", kind: "volume", sizeBytes: 2 * GiB });
      await io("vol0", "read", 0x00, 0);
      const all = await d.list();
      expect(all.map((v) => `${v.kind}:${v.id}:${v.sizeBytes}`).sort()).toEqual(
        [`image:img1:${64 * MiB}`, `volume:vol0:${2 * GiB}`, `volume:vol1:${GiB}`]);
      expect((await d.usage()).provisionedBytes).toBeGreaterThanOrEqual(3 * GiB + 64 * MiB);
    }, timeout);

    it("clones are copy-on-write: writing one leaves the image and other clones alone", async () => {
      await io("vol1", "write", 0xa1, 0);
      await d.createVolume("vol2", 1, { fromImage: "img1" });
      await io("vol2", "read", 0x5a, 0);
      await io("vol1", "read", 0xa1, 0);
    }, timeout);

    it("a snapshot keeps the point-in-time data; a clone of it reads that data", async () => {
      expect(await d.snapshot("vol1", "snap1")).toMatchObject({ id: "snap1", kind: "snapshot", sizeBytes: GiB });
      expect(await d.snapshot("vol1", "snap1")).toMatchObject({ id: "snap1" });
      await io("vol1", "write", 0xb2, 0);
      expect(await d.cloneFromSnapshot("snap1", "vol3", 2)).toMatchObject({ id: "vol3", sizeBytes: 2 * GiB, origin: { kind: "snapshot", id: "snap1" } });
      await io("vol3", "read", 0xa1, 0);
      await io("vol1", "read", 0xb2, 0);
    }, timeout);

    it("resize grows a volume, refuses to shrink it, and errors name the object", async () => {
      expect(await d.resize("vol1", 3)).toMatchObject({ id: "vol1", sizeBytes: 3 * GiB });
      expect(await d.resize("vol1", 3)).toMatchObject({ sizeBytes: 3 * GiB });
      await expect(d.resize("vol1", 1)).rejects.toThrow(InvalidSizeError);
      await expect(d.resize("nope", 1)).rejects.toThrow(StorageNotFoundError);
      await expect(d.createVolume("vol9", 1, { fromImage: "noimg" })).rejects.toThrow(/creating volume "vol9".*image "noimg"/);
      await expect(d.cloneFromSnapshot("nosnap", "vol9")).rejects.toThrow(StorageNotFoundError);
      await expect(d.snapshot("novol", "snap9")).rejects.toThrow(/volume "novol"/);
      await expect(d.createVolume("bad/id", 1)).rejects.toThrow(TypeError);
      expect((await d.list()).find((v) => v.id === "vol1")?.sizeBytes).toBe(3 * GiB);
      await io("vol1", "read", 0xb2, 0); // data survives the resize
    }, timeout);

    it("concurrent calls for the same object converge on one object", async () => {
      const [a, b] = await Promise.all([
        d.importImage("img2", source, { format: "qcow2" }), d.importImage("img2", source, { format: "qcow2" }),
        d.createVolume("volc", 1), d.createVolume("volc", 1),
      ]);
      expect(a).toEqual(b);
      const ids = (await d.list()).map((v) => `${v.kind}:${v.id}`);
      expect(ids.filter((x) => x === "image:img2" || x === "volume:volc").sort()).toEqual(["image:img2", "volume:volc"]);
      await Promise.all([d.delete("volc"), d.deleteImage("img2"), d.delete("volc")]);
      expect((await d.list()).map((v) => v.id)).not.toContain("img2");
    }, timeout);

    it("a volume open by a process (as by QEMU) is not deleted", async () => {
      const { stdout } = await h.runner.run("sh", ["-c", `qemu-io -f ${d.format} -c "sleep 60000" ${d.path("vol2")} > /dev/null 2>&1 & echo $!`]);
      const pid = Number(stdout);
      try {
        // Wait until qemu-io has the volume open (its lock / the device's open count is what drivers see).
        const script = `t=$(readlink -f "$1"); for i in $(seq 100); do ls -l /proc/${pid}/fd 2>/dev/null | grep -q "$t" && exit 0; sleep 0.1; done; exit 1`;
        await h.runner.run("sh", ["-c", script, "sh", d.path("vol2")]);
        const err = await d.delete("vol2").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageInUseError);
        expect((err as Error).message).toMatch(/deleting volume "vol2"/);
        expect((await d.list()).map((v) => v.id)).toContain("vol2");
      } finally {
        await h.runner.run("sh", ["-c", `kill ${pid}; while kill -0 ${pid} 2>/dev/null; do sleep 0.1; done`]);
      }
    }, timeout);

    it("an image or snapshot with clones cannot be deleted; deletes are idempotent", async () => {
      await expect(d.deleteImage("img1")).rejects.toThrow(StorageInUseError);
      await expect(d.deleteSnapshot("snap1")).rejects.toThrow(StorageInUseError);
      await d.delete("vol3");
      await d.delete("vol3");
      await d.deleteSnapshot("snap1");
      for (const id of ["vol0", "vol1", "vol2"]) await d.delete(id);
      await d.deleteImage("img1");
      await d.deleteImage("img1");
      await d.deleteSnapshot("snap1");
      expect(await d.list()).toEqual([]);
      expect((await d.usage()).provisionedBytes).toBe(0);
    }, timeout);
  });
}
