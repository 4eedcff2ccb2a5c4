import { describe, it, expect } from "vitest";
import { alreadyExists, notFound, parseLvs, parseVgs } from "./lvm-cli.ts";
import { dependentsOf, usageOf, volumesOf } from "./lvm-volumes.ts";

// Shape of `lvs --reportformat json --units b --nosuffix -o lv_name,lv_attr,lv_size,origin,pool_lv,data_percent`.
const LVS = JSON.stringify({
  report: [{
    lv: [
      { lv_name: "peerstack-pool", lv_attr: "twi-aotz--", lv_size: "268435456", origin: "", pool_lv: "", data_percent: "12.50" },
      { lv_name: "ps-img-img1", lv_attr: "Vwi-a-tz--", lv_size: "67108864", origin: "", pool_lv: "peerstack-pool", data_percent: "1.56" },
      { lv_name: "ps-vol-vol1", lv_attr: "Vwi-a-tz--", lv_size: "1073741824", origin: "ps-img-img1", pool_lv: "peerstack-pool", data_percent: "0.10" },
      { lv_name: "ps-snap-s1", lv_attr: "Vwi-a-tz--", lv_size: "1073741824", origin: "ps-vol-vol1", pool_lv: "peerstack-pool", data_percent: "0.10" },
      { lv_name: "root", lv_attr: "-wi-ao----", lv_size: "10737418240", origin: "", pool_lv: "", data_percent: "" },
    ],
  }],
});

describe("lvm CLI parsing", () => {
  it("parses lvs JSON with byte sizes and empty percentages", () => {
    const rows = parseLvs(LVS);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({ name: "peerstack-pool", attr: "twi-aotz--", sizeBytes: 268435456, origin: "", pool: "", dataPercent: 12.5 });
    expect(rows[4].dataPercent).toBeNaN();
  });

  it("maps only peerstack's LVs to volumes, with their origins", () => {
    const vols = volumesOf("vg0", parseLvs(LVS));
    expect(vols.map((v) => `${v.kind}:${v.id}:${v.path}:${v.origin?.id ?? "-"}`)).toEqual([
      "image:img1:/dev/vg0/ps-img-img1:-",
      "snapshot:s1:/dev/vg0/ps-snap-s1:vol1",
      "volume:vol1:/dev/vg0/ps-vol-vol1:img1",
    ]);
  });

  it("finds dependents and computes ledger usage from one listing", () => {
    const rows = parseLvs(LVS);
    expect(dependentsOf(rows, "image", "img1")).toEqual(["volume:vol1"]);
    expect(dependentsOf(rows, "volume", "vol1")).toEqual(["snapshot:s1"]);
    expect(dependentsOf(rows, "snapshot", "s1")).toEqual([]);
    expect(usageOf(rows, "peerstack-pool")).toEqual({ capacityBytes: 268435456, usedBytes: 33554432, provisionedBytes: 67108864 + 2 * 1073741824 });
  });

  it("parses vgs JSON and rejects output that is not a report", () => {
    const vgs = JSON.stringify({ report: [{ vg: [{ vg_name: "vg0", vg_size: "4290772992", vg_free: "0", vg_extent_size: "4194304" }] }] });
    expect(parseVgs(vgs)).toEqual([{ name: "vg0", sizeBytes: 4290772992, freeBytes: 0, extentBytes: 4194304 }]);
    expect(() => parseLvs("{}")).toThrow(/report/);
    expect(() => parseLvs("  WARNING: x")).toThrow();
  });

  it("classifies lvm2 failures by their stderr", () => {
    expect(alreadyExists({ stderr: '  Logical Volume "ps-vol-a" already exists in volume group "vg0"' })).toBe(true);
    expect(notFound({ stderr: '  Failed to find logical volume "vg0/ps-vol-a"' })).toBe(true);
    expect(notFound({ stderr: "  Insufficient free space" })).toBe(false);
    expect(notFound({ stderr: '  Volume group "vg9" not found' })).toBe(false);
  });
});
