// A server spawned by the real QEMU driver with a config drive: the ISO is built in its instance
// dir (0600, label config-2) and QEMU has it as a read-only CD-ROM (QMP query-block); without one
// asked, no such drive exists.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../drivers/run.ts";
import { qemuDriver } from "../drivers/compute/qemu.ts";
import { QmpClient } from "../drivers/compute/qmp.ts";
import type { ComputeDriver, ConfigDriveData, ServerSpec } from "../drivers/compute/interface.ts";
import type { TestImage } from "../drivers/guest/test-image.ts";
import { killAllQemu, overlay, qemuPidsMentioning, testImage } from "./helpers/vm.ts";

const data: ConfigDriveData = {
  uuid: "cd-vm", name: "cd vm", hostname: "cd-vm", availabilityZone: "nova", projectId: "p",
  keys: [{ name: "k", data: "ssh-ed25519 AAAA k" }], userDataBase64: Buffer.from("#cloud-config\n").toString("base64"), links: [], networks: [],
};

let img: TestImage;
let stateDir: string;
let driver: ComputeDriver;

beforeAll(async () => {
  img = await testImage();
  stateDir = await mkdtemp(join(tmpdir(), "pscd-"));
  driver = qemuDriver({ stateDir });
}, 300_000);

afterAll(async () => {
  if (stateDir) {
    await killAllQemu(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  }
});

type Block = { device: string; removable: boolean; inserted?: { file: string; ro: boolean; drv: string } };
async function blocks(id: string): Promise<Block[]> {
  const q = await QmpClient.connect(join(stateDir, id, "qmp.sock"));
  try {
    return (await q.execute("query-block")) as Block[];
  } finally {
    q.close();
  }
}

describe("config drive on a spawned server (real QEMU)", () => {
  it("is attached read-only as a CD-ROM from the instance dir's 0600 config-2 ISO; absent when not asked", async () => {
    const spec = (id: string, cd?: ConfigDriveData): ServerSpec => ({ id, memoryMb: 128, disks: [{ path: join(stateDir, `${id}.qcow2`) }], nics: [], ...(cd ? { configDrive: cd } : {}) });
    await overlay(img.qcow2, join(stateDir, "cd.qcow2"));
    await overlay(img.qcow2, join(stateDir, "nocd.qcow2"));
    expect((await driver.create(spec("cd", data))).state).toBe("running");
    const iso = join(stateDir, "cd", "config-drive.iso");
    expect((await stat(iso)).mode & 0o777).toBe(0o600);
    expect((await run("blkid", ["-o", "value", "-s", "LABEL", iso])).stdout.trim()).toBe("config-2");
    const drive = (await blocks("cd")).find((b) => b.device === "configdrive");
    expect(drive).toMatchObject({ removable: true, inserted: { file: iso, ro: true, drv: "raw" } });

    expect((await driver.create(spec("nocd"))).state).toBe("running");
    expect((await blocks("nocd")).some((b) => b.device === "configdrive")).toBe(false);
    await expect(stat(join(stateDir, "nocd", "config-drive.iso"))).rejects.toThrow();
    for (const id of ["cd", "nocd"]) await driver.delete(id);
    expect(await qemuPidsMentioning(stateDir)).toEqual([]);
  }, 180_000);
});
