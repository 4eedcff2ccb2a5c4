// The QEMU compute driver against real QEMU (TCG here: /dev/kvm is PVM) and the real test image.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../drivers/run.ts";
import { qemuDriver } from "../drivers/compute/qemu.ts";
import { InvalidServerSpecError, ServerNotFoundError, type ComputeDriver, type ServerSpec } from "../drivers/compute/interface.ts";
import { accelCounters } from "../drivers/compute/accel.ts";
import type { TestImage } from "../drivers/guest/test-image.ts";
import { countMatches, killAllQemu, overlay, qemuPidsMentioning, testImage, waitConsole } from "./helpers/vm.ts";

const READY = /PEERSTACK-READY [^\n]*/;
const NS = `psvm-t${process.pid}`;
const TAP = "psvmtap0";

let img: TestImage;
let stateDir: string;
let driver: ComputeDriver;

beforeAll(async () => {
  img = await testImage();
  stateDir = await mkdtemp(join(tmpdir(), "psvm-"));
  driver = qemuDriver({ stateDir });
  await run("ip", ["netns", "add", NS]);
  await run("ip", ["tuntap", "add", "dev", TAP, "mode", "tap"], { netns: NS });
  await run("ip", ["addr", "add", "10.77.0.1/24", "dev", TAP], { netns: NS });
  await run("ip", ["link", "set", TAP, "up"], { netns: NS });
}, 300_000);

afterAll(async () => {
  if (stateDir) {
    await killAllQemu(stateDir);
    await new Promise((r) => setTimeout(r, 300));
    expect(await qemuPidsMentioning(stateDir)).toEqual([]);
    await rm(stateDir, { recursive: true, force: true });
  }
  await run("ip", ["netns", "del", NS]).catch(() => {});
});

describe("qemu driver (real QEMU, TCG)", () => {
  it("boots the self-contained qcow2 through BIOS + syslinux, hands it fw_cfg metadata, stops it with the ACPI power button", async () => {
    const disk = await overlay(img.qcow2, join(stateDir, "bios.qcow2"));
    const fallbacks = accelCounters.tcgFallbacks;
    const st = await driver.create({ id: "bios", memoryMb: 192, disks: [{ path: disk }], nics: [], metadata: { hostname: "bios-vm" } });
    expect(st.state).toBe("running");
    expect(st.accel).toBe("tcg");
    expect(accelCounters.tcgFallbacks).toBe(fallbacks + 1);
    const { text } = await waitConsole(driver, "bios", READY);
    expect(text.match(READY)![0]).toMatch(/hostname=bios-vm id=bios ip=none .*root=\/dev\/vda2/);
    const stopped = await driver.stop("bios", { timeoutMs: 30_000 });
    expect(stopped.state).toBe("stopped");
    expect(await driver.consoleLog("bios")).toContain("PEERSTACK-POWERDOWN");
    expect(await qemuPidsMentioning(join(stateDir, "bios"))).toEqual([]);
    await driver.delete("bios");
    await expect(stat(join(stateDir, "bios", "spec.json"))).rejects.toThrow();
  }, 120_000);

  it("direct-boots a server in a namespace on a tap; it gets its IP from fw_cfg and answers ping", async () => {
    const disk = await overlay(img.qcow2, join(stateDir, "web.qcow2"));
    const spec: ServerSpec = {
      id: "web", memoryMb: 192, disks: [{ path: disk }], nics: [{ tap: TAP, mac: "52:54:00:77:00:02", mtu: 1450 }],
      metadata: { hostname: "web1", ip: "10.77.0.2/24", gateway: "10.77.0.1", mtu: 1450, sshKeys: ["ssh-ed25519 AAAAC3 test@psvm"] },
      kernel: { path: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }, netns: NS,
    };
    await driver.create(spec);
    const { text } = await waitConsole(driver, "web", READY);
    expect(text.match(READY)![0]).toMatch(/hostname=web1 id=web ip=10\.77\.0\.2\/24 mtu=1450 root=\/dev\/vda2/);
    let pinged = false;
    for (let i = 0; i < 10 && !pinged; i++) pinged = await run("ping", ["-c", "1", "-W", "1", "10.77.0.2"], { netns: NS }).then(() => true, () => false);
    expect(pinged).toBe(true);
    // The host itself cannot reach it: the tap only exists inside the namespace.
    await expect(run("ip", ["link", "show", TAP])).rejects.toThrow();
  }, 120_000);

  it("a new driver instance (agent restart) re-adopts the running server over QMP", async () => {
    const before = await driver.status("web");
    expect(before.state).toBe("running");
    const restarted = qemuDriver({ stateDir });
    const adopted = await restarted.adopt();
    expect(adopted.map((s) => [s.id, s.state, s.pid])).toEqual([["web", "running", before.pid]]);
    driver = restarted;
    expect((await driver.list()).map((s) => s.id)).toEqual(["web"]);
  }, 60_000);

  it("soft reboot goes through the guest (ctrl-alt-del), hard reboot resets; same process", async () => {
    const pid = (await driver.status("web")).pid;
    await driver.reboot("web", "soft", { timeoutMs: 30_000 });
    const soft = await waitConsole(driver, "web", READY, { count: 2 });
    expect(soft.text).toContain("PEERSTACK-REBOOT");
    await driver.reboot("web", "hard");
    const hard = await waitConsole(driver, "web", READY, { count: 3 });
    expect(countMatches(hard.text, /PEERSTACK-REBOOT/g)).toBe(1);
    expect((await driver.status("web")).pid).toBe(pid);
  }, 180_000);

  it("stop is graceful, start boots again from the recorded spec, a guest that ignores the button is forced", async () => {
    expect((await driver.stop("web", { timeoutMs: 30_000 })).state).toBe("stopped");
    expect(await driver.consoleLog("web")).toContain("PEERSTACK-POWERDOWN");
    expect(await driver.stop("web")).toEqual({ id: "web", state: "stopped" });
    const started = await driver.start("web");
    expect(started.state).toBe("running");
    // Still booting, so nothing listens to the power button yet: forced after the timeout.
    const t0 = Date.now();
    expect((await driver.stop("web", { timeoutMs: 300 })).state).toBe("stopped");
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await qemuPidsMentioning(join(stateDir, "web"))).toEqual([]);
    await driver.start("web");
    await waitConsole(driver, "web", READY, { count: 4 });
  }, 180_000);

  it("delete kills the process and forgets the server; errors are named", async () => {
    await driver.delete("web");
    expect(await qemuPidsMentioning(join(stateDir, "web"))).toEqual([]);
    await expect(driver.status("web")).rejects.toBeInstanceOf(ServerNotFoundError);
    await expect(driver.stop("web")).rejects.toBeInstanceOf(ServerNotFoundError);
    await driver.delete("web");
    await expect(driver.create({ id: "nodisk", memoryMb: 64, disks: [{ path: join(stateDir, "absent.qcow2") }], nics: [] })).rejects.toBeInstanceOf(InvalidServerSpecError);
    await expect(driver.status("../etc")).rejects.toBeInstanceOf(InvalidServerSpecError);
    const disk = img.qcow2;
    await expect(driver.create({ id: "badmac", memoryMb: 64, disks: [{ path: disk }], nics: [{ tap: TAP, mac: "52:54:00:zz:00:01" }] })).rejects.toThrow(/MAC/);
    await expect(driver.create({ id: "badtap", memoryMb: 64, disks: [{ path: disk }], nics: [{ tap: "a-very-long-tap-name", mac: "52:54:00:00:00:01" }] })).rejects.toThrow(/tap name/);
    await expect(stat(join(stateDir, "badmac"))).rejects.toThrow();
    expect(await driver.list()).toEqual([]);
  }, 60_000);

  it("without an IP in the metadata the image takes one from DHCP (dnsmasq on the tap), with the MTU option", async () => {
    const pidfile = join(stateDir, "dnsmasq.pid");
    await run("dnsmasq", [
      "--conf-file=/dev/null", `--interface=${TAP}`, "--bind-interfaces", "--except-interface=lo", "--port=0",
      "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0", "--dhcp-host=52:54:00:77:00:03,10.77.0.53",
      "--dhcp-option=option:router,10.77.0.1", "--dhcp-option=26,1450",
      `--pid-file=${pidfile}`, `--dhcp-leasefile=${join(stateDir, "leases")}`,
    ], { netns: NS });
    try {
      const disk = await overlay(img.qcow2, join(stateDir, "dhcp.qcow2"));
      await driver.create({
        id: "dhcp", memoryMb: 192, disks: [{ path: disk }], nics: [{ tap: TAP, mac: "52:54:00:77:00:03" }],
        kernel: { path: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }, netns: NS,
      });
      const { text } = await waitConsole(driver, "dhcp", READY);
      expect(text.match(READY)![0]).toMatch(/id=dhcp ip=10\.77\.0\.53\/24 mtu=1450 /);
      expect(await run("ping", ["-c", "1", "-W", "2", "10.77.0.53"], { netns: NS })).toBeDefined();
      await driver.delete("dhcp");
    } finally {
      const pid = Number(await readFile(pidfile, "utf8").catch(() => "0"));
      if (pid > 0) process.kill(pid, "SIGTERM");
    }
  }, 120_000);
});
