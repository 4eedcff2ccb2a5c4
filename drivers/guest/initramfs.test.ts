import { describe, it, expect } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModuleNotFoundError, modulesWithDeps, rootSpecKey } from "./initramfs.ts";

const DEP = [
  "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
  "kernel/drivers/virtio/virtio.ko:",
  "kernel/drivers/virtio/virtio_ring.ko:",
  "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko",
  "kernel/net/9p/9pnet.ko:",
  "kernel/fs/netfs/netfs.ko:",
  "kernel/drivers/firmware/qemu_fw_cfg.ko:",
].join("\n");

describe("modulesWithDeps", () => {
  it("adds dependencies before the module, without duplicates", () => {
    expect(modulesWithDeps(DEP, ["virtio_blk", "virtio"])).toEqual([
      "kernel/drivers/virtio/virtio.ko",
      "kernel/drivers/virtio/virtio_ring.ko",
      "kernel/drivers/block/virtio_blk.ko",
    ]);
  });
  it("matches dashes and underscores alike", () => {
    expect(modulesWithDeps(DEP, ["qemu-fw-cfg"])).toEqual(["kernel/drivers/firmware/qemu_fw_cfg.ko"]);
  });
  it("does not confuse 9p with 9pnet", () => {
    expect(modulesWithDeps(DEP, ["9p"]).at(-1)).toBe("kernel/fs/9p/9p.ko");
  });
  it("needs nothing for a built-in module", () => {
    expect(modulesWithDeps(DEP, ["af_packet", "virtio"], "k", "kernel/net/packet/af_packet.ko\n")).toEqual(["kernel/drivers/virtio/virtio.ko"]);
    expect(() => modulesWithDeps(DEP, ["af_packet"], "k", "")).toThrow(ModuleNotFoundError);
  });
  it("throws a named error for a missing module", () => {
    expect(() => modulesWithDeps(DEP, ["dm_mod"], "6.1.0-x")).toThrow(ModuleNotFoundError);
  });
});

describe("rootSpecKey", () => {
  it("changes with any input", async () => {
    const d = await mkdtemp(join(tmpdir(), "psvm-key-"));
    try {
      const base = { kernel: { kver: "6.1.0-x", modulesDir: d }, modules: ["virtio_blk"], files: { init: { content: "#!/bin/sh\n", mode: 0o755 } } };
      const k = await rootSpecKey(base);
      expect(await rootSpecKey(base)).toBe(k);
      expect(await rootSpecKey({ ...base, modules: ["virtio_net"] })).not.toBe(k);
      expect(await rootSpecKey({ ...base, files: { init: { content: "#!/bin/sh\n\n", mode: 0o755 } } })).not.toBe(k);
      expect(await rootSpecKey({ ...base, files: { init: { content: "#!/bin/sh\n", mode: 0o644 } } })).not.toBe(k);
      expect(await rootSpecKey(base, ["v2"])).not.toBe(k);
    } finally {
      await rm(d, { recursive: true });
    }
  });
});
