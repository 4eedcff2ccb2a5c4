import { describe, it, expect } from "vitest";
import { GUEST_MODULES, INIT_SCRIPT } from "./lvm-guest-initramfs.ts";
import { AGENT_SCRIPT } from "./guest-runner-agent.ts";

describe("LVM guest initramfs", () => {
  it("the scripts carry bash parameter expansions and no leftover placeholders", () => {
    for (const m of GUEST_MODULES) expect(INIT_SCRIPT).toContain(m);
    expect(INIT_SCRIPT).toContain("${x#ps.moddir=}");
    expect(AGENT_SCRIPT).toContain('"${a[@]}"');
    expect(INIT_SCRIPT + AGENT_SCRIPT).not.toMatch(/@\{|MODULES|PORTNAME/);
  });
});
