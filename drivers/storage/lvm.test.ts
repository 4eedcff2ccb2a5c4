// LVM driver logic against a scripted runner (the real lvm2 runs in test/lvm-driver.test.ts):
// the undo of a failed import, and how lvm2's failures map to storage errors.
import { describe, it, expect } from "vitest";
import type { RunOptions } from "../run.ts";
import { CommandError } from "../errors.ts";
import { lvmStorage } from "./lvm.ts";
import { InsufficientSpaceError, StorageError } from "./errors.ts";

const EMPTY_LVS = JSON.stringify({ report: [{ lv: [{ lv_name: "peerstack-pool", lv_attr: "twi-a-tz--", lv_size: "1073741824", origin: "", pool_lv: "", data_percent: "0.00" }] }] });

function scripted(fails: Record<string, string>) {
  const calls: string[] = [];
  return {
    calls,
    run: async (cmd: string, args: string[], _opts?: RunOptions) => {
      const line = [cmd, ...args].join(" ");
      calls.push(line);
      const hit = Object.entries(fails).find(([k]) => line.startsWith(k));
      if (hit) throw new CommandError({ cmd, args, exitCode: 5, stderr: hit[1] });
      if (cmd === "lvs") return { stdout: EMPTY_LVS, stderr: "" };
      // od of a bare qcow2 v3 header (no backing file, no features)
      if (cmd === "od") return { stdout: " 51 46 49 fb 00 00 00 03" + " 00".repeat(96), stderr: "" };
      if (cmd === "qemu-img" && args[0] === "info") return { stdout: JSON.stringify({ "virtual-size": 67108864, format: "qcow2" }), stderr: "" };
      return { stdout: "", stderr: "" };
    },
  };
}

describe("lvm driver (scripted runner)", () => {
  it("a failed copy removes the partial image LV and reports the image", async () => {
    const r = scripted({ "qemu-img convert": "qemu-img: error while reading sector 0" });
    const err = await lvmStorage({ vg: "vg0", runner: r }).importImage("img1", "/src.qcow2", { format: "qcow2" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toMatch(/^importing image "img1": qemu-img convert .*reading sector 0/);
    expect(r.calls.filter((c) => c.startsWith("lv"))).toEqual([
      "lvs --reportformat json --units b --nosuffix -o lv_name,lv_attr,lv_size,origin,pool_lv,data_percent vg0",
      "lvcreate -y -T vg0/peerstack-pool -V 67108864b -n ps-part-img-img1",
      "lvremove -y vg0/ps-part-img-img1",
    ]);
    expect(r.calls.find((c) => c.startsWith("qemu-img convert"))).toContain("-f qcow2");
  });

  it("no space in the VG is InsufficientSpaceError naming the volume", async () => {
    const r = scripted({ "lvcreate": '  Insufficient free space: 256 extents needed, but only 10 available' });
    await expect(lvmStorage({ vg: "vg0", runner: r }).init()).rejects.toThrow(InsufficientSpaceError);
    await expect(lvmStorage({ vg: "vg0", runner: r }).createVolume("v1", 1)).rejects.toThrow(/creating volume "v1": not enough space in volume group "vg0"/);
  });

  it("init accepts an existing thin pool but not another LV by the pool's name", async () => {
    const exists = { lvcreate: '  Logical Volume "peerstack-pool" already exists in volume group "vg0"' };
    await lvmStorage({ vg: "vg0", runner: scripted(exists) }).init();
    const linear = scripted(exists);
    const run = linear.run;
    linear.run = async (cmd, args, opts) =>
      cmd === "lvs" ? { stdout: EMPTY_LVS.replace("twi-a-tz--", "-wi-a-----"), stderr: "" } : run(cmd, args, opts);
    await expect(lvmStorage({ vg: "vg0", runner: linear }).init()).rejects.toThrow(/not a thin pool/);
  });

  it("a missing VG is an error, not an already-deleted volume", async () => {
    const r = scripted({ "lvremove": '  Volume group "vg0" not found' });
    await expect(lvmStorage({ vg: "vg0", runner: r }).delete("v1")).rejects.toThrow(/deleting volume "v1".*not found/);
  });
});
