import { describe, it, expect } from "vitest";
import { GUEST_MODULES, INIT_SCRIPT, modulesWithDeps } from "./lvm-guest-initramfs.ts";
import { AGENT_SCRIPT } from "./guest-runner-agent.ts";

const DEP = [
  "kernel/drivers/md/dm-thin-pool.ko: kernel/drivers/md/persistent-data/dm-persistent-data.ko kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko kernel/lib/libcrc32c.ko",
  "kernel/drivers/md/dm-mod.ko:",
  "kernel/drivers/md/dm-bufio.ko: kernel/drivers/md/dm-mod.ko",
  "kernel/drivers/md/persistent-data/dm-persistent-data.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko kernel/lib/libcrc32c.ko",
  "kernel/lib/libcrc32c.ko:",
  "kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko",
  "kernel/net/9p/9pnet.ko:",
  "",
].join("\n");

describe("LVM guest initramfs", () => {
  it("takes each wanted module with its dependencies, matching - and _ alike, once", () => {
    expect(modulesWithDeps(DEP, ["dm_thin_pool", "dm_mod", "9pnet_virtio"])).toEqual([
      "kernel/drivers/md/persistent-data/dm-persistent-data.ko", "kernel/drivers/md/dm-bufio.ko", "kernel/drivers/md/dm-mod.ko",
      "kernel/lib/libcrc32c.ko", "kernel/drivers/md/dm-thin-pool.ko", "kernel/net/9p/9pnet.ko", "kernel/net/9p/9pnet_virtio.ko",
    ]);
  });

  it("names a missing module", () => {
    expect(() => modulesWithDeps(DEP, ["dm_cache"])).toThrow(/"dm_cache"/);
  });

  it("the scripts carry bash parameter expansions and no leftover placeholders", () => {
    for (const m of GUEST_MODULES) expect(INIT_SCRIPT).toContain(m);
    expect(INIT_SCRIPT).toContain("${x#ps.moddir=}");
    expect(AGENT_SCRIPT).toContain('"${a[@]}"');
    expect(INIT_SCRIPT + AGENT_SCRIPT).not.toMatch(/@\{|MODULES|PORTNAME/);
  });
});
