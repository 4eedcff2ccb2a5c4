import { describe, it, expect } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectAccel } from "./accel.ts";

describe("detectAccel", () => {
  it("refuses KVM on a PVM host even though the device opens", async () => {
    const d = await mkdtemp(join(tmpdir(), "psvm-accel-"));
    try {
      await writeFile(join(d, "kvm"), "");
      const c = await detectAccel({ kvmDevice: join(d, "kvm"), pvmModule: d });
      expect(c.accel).toBe("tcg");
      expect(c.reason).toContain("PVM");
    } finally {
      await rm(d, { recursive: true });
    }
  });

  it("uses TCG without a KVM device", async () => {
    const c = await detectAccel({ kvmDevice: "/nonexistent/kvm", pvmModule: "/nonexistent/pvm" });
    expect(c).toEqual({ accel: "tcg", reason: "/nonexistent/kvm is not usable" });
  });

  it("falls back to TCG when the probe fails", async () => {
    const failing = { run: () => Promise.reject(new Error("qemu: MSR 0x10a")) };
    const c = await detectAccel({ kvmDevice: "/dev/null", pvmModule: "/nonexistent/pvm", runner: failing });
    expect(c.accel).toBe("tcg");
    expect(c.reason).toContain("MSR 0x10a");
  });

  it("uses KVM when the probe reports it enabled", async () => {
    const ok = { run: async () => ({ stdout: '{"return": {}}\n{"return": {"enabled": true, "present": true}}\n', stderr: "" }) };
    expect((await detectAccel({ kvmDevice: "/dev/null", pvmModule: "/nonexistent/pvm", runner: ok })).accel).toBe("kvm");
  });

  it("on this host (PVM or no KVM) picks TCG for real", async () => {
    const c = await detectAccel();
    if (existsSync("/sys/module/kvm_pvm") || !existsSync("/dev/kvm")) expect(c.accel).toBe("tcg");
    else expect(["kvm", "tcg"]).toContain(c.accel);
  });
});
