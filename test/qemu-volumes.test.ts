// Volume hot-plug in the QEMU compute driver against real QEMU (TCG) and the test image: attach is
// idempotent (a second call adds nothing), the guest sees a virtio disk with the volume's serial and can
// read the data written to it on the host, detach waits for the guest to release it and removes the block
// node, a second detach is a no-op, and a stopped server answers ServerNotFoundError.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../drivers/run.ts";
import { qemuDriver } from "../drivers/compute/qemu.ts";
import { ServerNotFoundError, type ComputeDriver } from "../drivers/compute/interface.ts";
import { volumeNodeName } from "../drivers/compute/qemu-volumes.ts";
import { QmpClient } from "../drivers/compute/qmp.ts";
import type { TestImage } from "../drivers/guest/test-image.ts";
import { diskWatchScript, killAllQemu, overlay, qemuPidsMentioning, testImage, waitConsole } from "./helpers/vm.ts";

const SCRIPT = diskWatchScript({ periodS: 0.2, heads: true }); // name=serial:first 8 bytes, whenever they change

let img: TestImage;
let stateDir: string;
let driver: ComputeDriver;

beforeAll(async () => {
  img = await testImage();
  stateDir = await mkdtemp(join(tmpdir(), "psvol-qemu-"));
  driver = qemuDriver({ stateDir });
}, 300_000);

afterAll(async () => {
  if (stateDir) {
    await killAllQemu(stateDir);
    await new Promise((r) => setTimeout(r, 300));
    expect(await qemuPidsMentioning(stateDir)).toEqual([]);
    await rm(stateDir, { recursive: true, force: true });
  }
});

const blockNodes = async (id: string) => {
  const q = await QmpClient.connect(join(stateDir, id, "qmp.sock"), { timeoutMs: 3000 });
  try {
    return (await q.execute<{ "node-name": string }[]>("query-named-block-nodes")).map((n) => n["node-name"]);
  } finally {
    q.close();
  }
};

describe("qemu driver: volume hot-plug (real QEMU, TCG)", () => {
  it("attach twice → one disk the guest sees with its serial and data; detach twice → gone, block node removed", async () => {
    const root = await overlay(img.qcow2, join(stateDir, "root.qcow2"));
    const vol = join(stateDir, "vol.raw");
    await run("sh", ["-c", `printf 'PSVOLDATA' > ${vol} && truncate -s 64M ${vol}`]);
    await driver.create({ id: "vm", memoryMb: 192, disks: [{ path: root }], nics: [], kernel: { path: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }, metadata: { extra: { user_data: Buffer.from(SCRIPT).toString("base64") } } });
    await waitConsole(driver, "vm", /PSVOL-DISKS vda=/, { timeoutMs: 120_000 });
    const volumeId = "1f0c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e";
    expect(await driver.volumeAttached!("vm", volumeId)).toBe(false);
    const disk = { volumeId, path: vol, format: "raw" as const };
    await driver.attachVolume!("vm", disk);
    await driver.attachVolume!("vm", disk); // idempotent
    expect(await driver.volumeAttached!("vm", volumeId)).toBe(true);
    expect((await blockNodes("vm")).filter((n) => n === volumeNodeName(volumeId))).toHaveLength(1);
    const seen = await waitConsole(driver, "vm", new RegExp(`vdb=${volumeId.slice(0, 20)}:PSVOLDAT`), { timeoutMs: 60_000 });
    expect(seen.text).not.toMatch(/vdc=/);

    await driver.detachVolume!("vm", volumeId, { timeoutMs: 60_000 });
    expect(await driver.volumeAttached!("vm", volumeId)).toBe(false);
    expect(await blockNodes("vm")).not.toContain(volumeNodeName(volumeId));
    await driver.detachVolume!("vm", volumeId); // no-op
    await waitConsole(driver, "vm", /PSVOL-DISKS vda=:\S*\s+(?![\s\S]*vdb=)/, { timeoutMs: 60_000 });

    await driver.stop("vm", { timeoutMs: 0 });
    await expect(driver.attachVolume!("vm", disk)).rejects.toBeInstanceOf(ServerNotFoundError);
    await driver.delete("vm");
  }, 300_000);
});
