import { describe, it, expect } from "vitest";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { guestKernel, xzOffsets } from "./kernel.ts";

describe("xzOffsets", () => {
  it("finds every xz stream magic", () => {
    const magic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
    const b = Buffer.from([1, 2, ...magic, 3, ...magic]);
    expect(xzOffsets(b)).toEqual([2, 9]);
    expect(xzOffsets(Buffer.from([1, 2, 3]))).toEqual([]);
  });
});

describe("guestKernel (real apt + dpkg, cached in .peerstack/cache/kernel)", () => {
  it("yields a PVH-bootable ELF vmlinux, the bzImage and modules with modules.dep; a second call reuses the cache", async () => {
    const kit = await guestKernel();
    expect(kit.pkg).toMatch(/^linux-image-6\.1\.\d+-\d+-amd64$/);
    expect(kit.kver).toBe(kit.pkg.replace("linux-image-", ""));
    const head = (await readFile(kit.vmlinux)).subarray(0, 4);
    expect([...head]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect((await stat(kit.vmlinux)).size).toBeGreaterThan((await stat(kit.vmlinuz)).size);
    const dep = await readFile(join(kit.modulesDir, kit.kver, "modules.dep"), "utf8");
    expect(dep).toMatch(/virtio_net\.ko/);
    const t0 = process.hrtime.bigint();
    expect(await guestKernel()).toEqual(kit);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(1_000);
  }, 600_000);
});
