import { describe, it, expect } from "vitest";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localRunner as host } from "../run.ts";
import { fileStorage } from "./file.ts";
import { storageContract } from "./storage.contract.ts";
import { readQcow2Header } from "./qcow2-header.ts";


storageContract("file (qcow2 on the host)", async () => {
  const workDir = await mkdtemp(join(tmpdir(), "pslvm-file-"));
  return {
    driver: fileStorage({ root: join(workDir, "pool"), runner: host }),
    runner: host,
    hostRunner: host,
    workDir,
    teardown: () => rm(workDir, { recursive: true, force: true }),
  };
});

describe("file driver specifics", () => {
  it("init removes partial files a crash left; raw images are imported as qcow2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pslvm-file-"));
    try {
      const d = fileStorage({ root: dir, runner: host });
      await d.init();
      const leftover = join(dir, "volumes", "v1.qcow2.partial-1-1");
      await writeFile(leftover, "junk");
      await d.init();
      await expect(stat(leftover)).rejects.toThrow(/ENOENT/);
      await writeFile(join(dir, "volumes", "not an id!.qcow2"), "stray");
      expect(await d.list()).toEqual([]);
      const raw = join(dir, "src.raw");
      await host.run("qemu-img", ["create", "-q", "-f", "raw", raw, String(4 * 1024 * 1024)]);
      expect(await d.importImage("r1", raw, { format: "raw" })).toMatchObject({ kind: "image", sizeBytes: 4 * 1024 * 1024 });
      const header = await readQcow2Header(join(dir, "images", "r1.qcow2"));
      expect(header).toEqual({ virtualSize: 4 * 1024 * 1024 });
      const v = await d.createVolume("v1", 1, { fromImage: "r1" });
      expect(await readQcow2Header(v.path)).toEqual({ virtualSize: 1024 ** 3, backingFile: join(dir, "images", "r1.qcow2") });
      await expect(readQcow2Header(raw)).rejects.toThrow(/not a qcow2/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
