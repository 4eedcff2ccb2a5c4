// The reconciler for real: a child-process agent (LevelDB store + reconciler + qemu + file storage)
// killed with -9 in the middle of a create (QEMU up, status still BUILD), restarted: the server ends
// ACTIVE on the same QEMU, nothing leaked. Then stop / start / soft reboot / a guest powering itself
// off / delete through desired-state writes, and an agent restart re-adopting the running VM.
// One VM, three boots (TCG). Network is not part of this test (unit tests + test/network-vm.test.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fork, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { qemuDriver } from "../drivers/compute/qemu.ts";
import { countMatches, killAllQemu, qemuPidsMentioning, testImage } from "./helpers/vm.ts";
import { createLab, nsCode, type Lab } from "./helpers/netns.ts";
import { tapNameFor } from "../protocol/records.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "reconciler-agent.ts");
const NODE_ID = "rc-node-1";
const ID = "srv1";
const READY = /PEERSTACK-READY/;

let dataDir: string;
let imageDir: string;
let agent: { proc: ChildProcess; events: { event: string; pid?: number }[]; call(op: string, key: string, fields?: Record<string, unknown>, kind?: string): Promise<Record<string, unknown> | null> } | undefined;

function startAgent(env: Record<string, string> = {}): Promise<NonNullable<typeof agent>> {
  const proc = fork(FIXTURE, [], { env: { ...process.env, RC_DATA_DIR: dataDir, RC_NODE_ID: NODE_ID, RC_IMAGE_DIR: imageDir, ...env }, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const events: { event: string; pid?: number }[] = [];
  const waiting = new Map<number, (m: { record?: Record<string, unknown> | null; error?: string }) => void>();
  let n = 0;
  return new Promise((resolve, reject) => {
    proc.on("exit", (code) => reject(new Error(`agent exited (${code}) before ready: ${stderr.slice(-3000)}`)));
    proc.on("message", (m: { event?: string; id?: number; pid?: number }) => {
      if (m.event) events.push(m as { event: string });
      if (m.event === "ready")
        resolve({
          proc,
          events,
          call(op, key, fields, kind = "server") {
            const id = ++n;
            proc.send({ id, op, kind, key, fields });
            return new Promise((res, rej) => waiting.set(id, (r) => (r.error ? rej(new Error(r.error)) : res(r.record ?? null))));
          },
        });
      if (m.id !== undefined) waiting.get(m.id)?.(m as never);
    });
  });
}

async function kill9(): Promise<void> {
  if (!agent) return;
  const p = agent.proc;
  agent = undefined;
  if (p.exitCode !== null) return;
  const gone = new Promise((r) => p.once("exit", r));
  p.kill("SIGKILL");
  await gone;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const get = () => agent!.call("get", ID);
const statusIs = (status: string, extra: (r: Record<string, unknown>) => boolean = () => true) => until(`status ${status}`, async () => {
  const r = await get();
  return r && r.status === status && r.task_state === null && extra(r) ? r : undefined;
});
const consoleText = () => readFile(join(dataDir, "instances", ID, "console.log"), "utf8").catch(() => "");
const readyCount = async () => countMatches(await consoleText(), READY);
const volumes = async () => (await readdir(join(dataDir, "storage", "volumes")).catch(() => [] as string[])).sort();

beforeAll(async () => {
  const img = await testImage();
  dataDir = await mkdtemp(join(tmpdir(), "psvm-rc"));
  imageDir = join(dataDir, "images");
  await rm(imageDir, { recursive: true, force: true });
  await import("node:fs/promises").then((f) => f.mkdir(imageDir));
  await symlink(img.qcow2, join(imageDir, "img1"));
  await writeFile(join(imageDir, "img1.boot.json"), JSON.stringify({ kernel: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }));
}, 300_000);

afterAll(async () => {
  await kill9();
  if (!dataDir) return;
  await killAllQemu(join(dataDir, "instances"));
  await new Promise((r) => setTimeout(r, 300));
  expect(await qemuPidsMentioning(dataDir)).toEqual([]);
  await rm(dataDir, { recursive: true, force: true });
});

describe("reconciler with real QEMU, file storage and LevelDB in a child agent", () => {
  let qemuPid = 0;

  it("kill -9 right after QEMU spawned (status BUILD): the restarted agent adopts it, ends ACTIVE, nothing leaked", async () => {
    agent = await startAgent({ RC_HANG_AFTER_CREATE: "1" });
    // The catalog's record of the image, as a finished upload leaves it: the reconciler boots only active, bootable images.
    await agent.call("put", "img1", { name: "peerstack-test", status: "active", disk_format: "qcow2", container_format: "bare", visibility: "public" }, "image");
    await agent.call("put", ID, { name: "web-1", project_id: "p1", flavor: { vcpus: 1, ram: 192, disk: 1 }, image_id: "img1", host: NODE_ID, attempt: 1, status: "BUILD", task_state: "scheduling", vm_state: "building", power_state: 0, desired: "active", metadata: { hostname: "web-1" } });
    const spawned = await until("spawned", async () => agent!.events.find((e) => e.event === "spawned"));
    expect(spawned.pid).toBeGreaterThan(0);
    expect(await get()).toMatchObject({ status: "BUILD", task_state: "spawning" });
    await kill9();
    expect(await qemuPidsMentioning(dataDir)).toEqual([spawned.pid]);

    agent = await startAgent();
    const r = await statusIs("ACTIVE");
    expect(r).toMatchObject({ vm_state: "active", power_state: 1 });
    expect(r.fault ?? null).toBeNull();
    expect(await qemuPidsMentioning(dataDir)).toEqual([spawned.pid]);
    qemuPid = spawned.pid!;
    expect(await volumes()).toEqual([`${ID}-root.qcow2`]);
    expect(await readdir(join(dataDir, "instances"))).toEqual([ID]);
    await until("guest READY", readyCount);
    expect(await consoleText()).toMatch(/PEERSTACK-READY hostname=web-1 id=srv1/);
  }, 180_000);

  it("an agent restart re-adopts the running VM (same QEMU, no new boot)", async () => {
    await kill9();
    agent = await startAgent();
    await statusIs("ACTIVE");
    await new Promise((r) => setTimeout(r, 2_500)); // two resyncs
    expect(await qemuPidsMentioning(dataDir)).toEqual([qemuPid]);
    expect(await readyCount()).toBe(1);
  }, 60_000);

  it("desired stopped → graceful stop, SHUTOFF; desired active → boots again, ACTIVE", async () => {
    await agent!.call("put", ID, { desired: "stopped" });
    await statusIs("SHUTOFF", (r) => r.power_state === 4);
    expect(await qemuPidsMentioning(dataDir)).toEqual([]);
    expect(await consoleText()).toContain("PEERSTACK-POWERDOWN");
    await agent!.call("put", ID, { desired: "active" });
    await statusIs("ACTIVE");
    const pids = await qemuPidsMentioning(dataDir);
    expect(pids).toHaveLength(1);
    qemuPid = pids[0]!;
    await until("second READY", async () => (await readyCount()) >= 2);
  }, 150_000);

  it("a reboot request (reboot_seq) soft-reboots the guest once, same QEMU", async () => {
    await agent!.call("put", ID, { reboot_seq: 1, reboot_type: "SOFT" });
    await statusIs("ACTIVE", (r) => r.reboot_done === 1);
    await until("READY after reboot", async () => (await readyCount()) >= 3);
    expect(await consoleText()).toContain("PEERSTACK-REBOOT");
    expect(await qemuPidsMentioning(dataDir)).toEqual([qemuPid]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(countMatches(await consoleText(), /PEERSTACK-REBOOT/)).toBe(1);
  }, 120_000);

  it("a guest that powers itself off becomes SHUTOFF and is not restarted", async () => {
    // The ACPI power button pressed from outside the agent: the guest shuts itself down.
    await qemuDriver({ stateDir: join(dataDir, "instances") }).stop(ID, { timeoutMs: 30_000 });
    const r = await statusIs("SHUTOFF");
    expect(r.desired).toBe("stopped");
    await new Promise((res) => setTimeout(res, 2_500));
    expect(await qemuPidsMentioning(dataDir)).toEqual([]);
    expect((await get())!.status).toBe("SHUTOFF");
  }, 90_000);

  it("desired deleted → VM, disk and instance dir gone, then the record is removed", async () => {
    await agent!.call("put", ID, { desired: "active" });
    await statusIs("ACTIVE");
    await agent!.call("put", ID, { desired: "deleted" });
    await until("record removed", async () => (await get()) === null);
    expect(await qemuPidsMentioning(dataDir)).toEqual([]);
    expect(await volumes()).toEqual([]);
    expect(await readdir(join(dataDir, "instances"))).toEqual([]);
  }, 120_000);
});

describe("kill -9 mid-create of a server with a port (bridge + VXLAN in a namespace host)", () => {
  let lab: Lab;
  let netDir: string;
  const VNI = 7312;
  const SID = "srv2";
  const tap = tapNameFor("port-srv2-0001");
  const env = () => ({ RC_DATA_DIR: netDir, RC_NETNS: lab.hosts[0], RC_UNDERLAY: `${lab.underlay[0]},${lab.vteps[0]}` });
  const link = async (dev: string) => (await nsCode(lab.hosts[0], "ip", ["link", "show", dev])).code === 0;

  beforeAll(async () => {
    await kill9();
    lab = await createLab("rck");
    netDir = await mkdtemp(join(tmpdir(), "psvm-rck"));
  }, 60_000);

  afterAll(async () => {
    await kill9();
    if (netDir) {
      await killAllQemu(join(netDir, "instances"));
      await new Promise((r) => setTimeout(r, 300));
      expect(await qemuPidsMentioning(netDir)).toEqual([]);
      await rm(netDir, { recursive: true, force: true });
    }
    await lab?.destroy();
  });

  it("tap and QEMU made, agent killed before ACTIVE: the restart ends ACTIVE on the same QEMU; delete leaves no QEMU, disk, tap or bridge", async () => {
    agent = await startAgent({ ...env(), RC_HANG_AFTER_CREATE: "1" });
    await agent.call("put", "img1", { name: "peerstack-test", status: "active", disk_format: "qcow2", container_format: "bare", visibility: "public" }, "image");
    await agent.call("put", "net2", { name: "net2", vni: VNI, mtu: 1450 }, "network");
    await agent.call("put", "sub2", { network_id: "net2", cidr: "10.62.0.0/24", gateway_ip: "10.62.0.1" }, "subnet");
    await agent.call("put", "port-srv2-0001", { network_id: "net2", mac_address: "fa:16:3e:62:00:10", fixed_ips: [{ subnet_id: "sub2", ip_address: "10.62.0.10" }] }, "port");
    await agent.call("put", SID, { name: "net-vm", project_id: "p", flavor: { vcpus: 1, ram: 192, disk: 1 }, image_id: "img1", host: NODE_ID, attempt: 1, status: "BUILD", task_state: "scheduling", desired: "active", ports: ["port-srv2-0001"] });
    const spawned = await until("spawned", async () => agent!.events.find((e) => e.event === "spawned"));
    expect(await link(tap)).toBe(true);
    await kill9();

    agent = await startAgent(env());
    await until("ACTIVE", async () => (await agent!.call("get", SID))?.status === "ACTIVE");
    expect(await qemuPidsMentioning(netDir)).toEqual([spawned.pid]);
    expect(await agent.call("get", "port-srv2-0001", undefined, "port")).toMatchObject({ binding_host_id: NODE_ID, status: "ACTIVE" });
    expect(await link(tap)).toBe(true);

    await agent.call("put", SID, { desired: "deleted" });
    await until("record removed", async () => (await agent!.call("get", SID)) === null);
    expect(await qemuPidsMentioning(netDir)).toEqual([]);
    expect(await readdir(join(netDir, "storage", "volumes"))).toEqual([]);
    expect(await link(tap)).toBe(false);
    await until("bridge removed at resync", async () => !(await link(`psbr-${VNI}`)), 15_000);
  }, 150_000);
});
