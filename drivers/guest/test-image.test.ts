import { describe, it, expect, afterAll } from "vitest";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../run.ts";
import { buildTestImage } from "./test-image.ts";

const out = await mkdtemp(join(tmpdir(), "psvm-img-"));
afterAll(() => rm(out, { recursive: true, force: true }));

describe("buildTestImage (real mkfs/syslinux/qemu-img)", () => {
  it("makes a qcow2 with an MBR: bootable FAT partition + ext4 root; a second call reuses it", async () => {
    const img = await buildTestImage({ outDir: out });
    const info = JSON.parse((await run("qemu-img", ["info", "--output=json", img.qcow2])).stdout) as { format: string; "virtual-size": number };
    expect(info.format).toBe("qcow2");
    expect(info["virtual-size"]).toBe(98 * 1024 * 1024);
    const raw = join(out, "check.raw");
    await run("qemu-img", ["convert", "-O", "raw", img.qcow2, raw]);
    const table = JSON.parse((await run("sfdisk", ["--json", raw])).stdout) as { partitiontable: { partitions: Array<{ type: string; bootable?: boolean; start: number }> } };
    const parts = table.partitiontable.partitions;
    expect(parts.map((p) => [p.type, p.bootable ?? false])).toEqual([["c", true], ["83", false]]);
    const probe = async (start: number) => (await run("blkid", ["-p", "-O", String(start * 512), raw])).stdout;
    expect(await probe(parts[0].start)).toMatch(/LABEL="PSBOOT".*TYPE="vfat"/);
    expect(await probe(parts[1].start)).toMatch(/LABEL="psroot".*TYPE="ext4"/);
    await rm(raw);
    expect(img.cmdline).toContain("ps.root=LABEL=psroot");
    const mtime = (await stat(img.qcow2)).mtimeMs;
    const again = await buildTestImage({ outDir: out });
    expect(again).toEqual(img);
    expect((await stat(img.qcow2)).mtimeMs).toBe(mtime);
  }, 300_000);
});
