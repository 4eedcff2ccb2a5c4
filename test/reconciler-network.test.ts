// The reconciler's network half for real: two namespace hosts joined by a veth underlay; on host 1
// the reconciler (LevelDB store, qemu in the namespace, file storage, bridge + VXLAN driver) builds a
// server with a port; host 2 has a fake guest (namespace + veth) bound to the same network. The
// reconciler binds the port to itself, makes bridge/VXLAN/tap, points the flood list at host 2 from
// the replicated binding, serves the lease, boots the guest with the port's address; host 2's guest
// pings it across VXLAN. Delete removes tap, port binding and (at the resync) the network.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { bridgeVxlanDriver } from "../drivers/network/bridge-vxlan.ts";
import type { NetworkDriver } from "../drivers/network/interface.ts";
import { localRunner } from "../drivers/run.ts";
import { startReconciler, type RunningReconciler } from "../node/main/reconciler-wiring.ts";
import { systemClock } from "../node/runtime/system.ts";
import { openCrdtStore, type CrdtStore } from "../node/store/crdt-store.ts";
import { LevelKv } from "../node/store/level-kv.ts";
import { IMAGE, NETWORK, PORT, SERVER, SUBNET, tapNameFor } from "../protocol/records.ts";
import { killAllQemu, qemuPidsMentioning, testImage } from "./helpers/vm.ts";
import { createLab, nsCode, sh, type Lab } from "./helpers/netns.ts";

const SELF = "rc-h1";
const VNI = 7311;
let lab: Lab;
let dir: string;
let kv: LevelKv;
let store: CrdtStore;
let rc: RunningReconciler | undefined;
let drv2: NetworkDriver;

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  const img = await testImage();
  dir = await mkdtemp(join(tmpdir(), "psvm-rcn"));
  await mkdir(join(dir, "images"));
  await symlink(img.qcow2, join(dir, "images", "img1"));
  await writeFile(join(dir, "images", "img1.boot.json"), JSON.stringify({ kernel: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }));
  lab = await createLab("rc");
  kv = await LevelKv.open(join(dir, "catalog"));
  store = await openCrdtStore({ node: SELF }, { clock: systemClock, kv });
  // The catalog as the API and host 2 would have replicated it.
  // The catalog's record of the test image as a Glance upload leaves it: the reconciler imports only active, bootable images.
  await store.put(IMAGE, "img1", { name: "img1", status: "active", disk_format: "qcow2", container_format: "bare", visibility: "public" });
  await store.put(NETWORK, "net1", { name: "net1", vni: VNI, mtu: 1450 });
  await store.put(SUBNET, "sub1", { network_id: "net1", cidr: "10.61.0.0/24", gateway_ip: "10.61.0.1", enable_dhcp: true });
  // No security groups here (this test is the plumbing; test/secgroups-nft.test.ts the filtering).
  await store.put(PORT, "port-srv1-0001", { network_id: "net1", mac_address: "fa:16:3e:61:00:10", fixed_ips: [{ subnet_id: "sub1", ip_address: "10.61.0.10" }], port_security_enabled: false });
  await store.put(PORT, "port-g2", { network_id: "net1", mac_address: "fa:16:3e:61:00:20", fixed_ips: [{ subnet_id: "sub1", ip_address: "10.61.0.20" }], binding_host_id: "rc-h2", binding_vtep: lab.vteps[1] });
  // Host 2 (no reconciler here): its guest on the network, flood list toward host 1.
  drv2 = bridgeVxlanDriver({ runner: localRunner, netns: lab.hosts[1], stateDir: join(dir, "h2") });
  await lab.addGuest({ name: "g2", host: lab.hosts[1], hostIf: "psv-rcg2", mac: "fa:16:3e:61:00:20", cidr: "10.61.0.20/24", mtu: 1450 });
  await drv2.ensureNetwork({ networkId: "net1", vni: VNI, underlayDev: lab.underlay[1], localIp: lab.vteps[1] });
  await drv2.ensurePort({ portId: "port-g2", networkId: "net1", mac: "fa:16:3e:61:00:20", tapName: "psv-rcg2", kind: "existing" });
  await drv2.syncFdb("net1", [lab.vteps[0]]);
  rc = await startReconciler({
    dataDir: dir,
    self: SELF,
    store,
    log: pino({ level: "warn" }),
    underlay: { dev: lab.underlay[0], localIp: lab.vteps[0] },
    network: bridgeVxlanDriver({ runner: localRunner, netns: lab.hosts[0], stateDir: join(dir, "h1") }),
    imageCacheDir: join(dir, "images"),
    init: { resyncMs: 1_000, netns: lab.hosts[0], dhcpServerIp: () => "10.61.0.2", stopTimeoutMs: 20_000 },
  });
}, 300_000);

afterAll(async () => {
  await rc?.stop();
  if (dir) await killAllQemu(join(dir, "instances"));
  await drv2?.teardown().catch(() => {});
  await store?.stop();
  await kv?.close();
  await lab?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("reconciler + bridge/VXLAN driver + QEMU in namespace hosts", () => {
  it("plugs the server's port, boots it with the port's address, reachable from host 2 across VXLAN; delete unplugs", async () => {
    await store.put(SERVER, "srv1", { name: "net-vm", project_id: "p", flavor: { vcpus: 1, ram: 192, disk: 1 }, image_id: "img1", host: SELF, attempt: 1, status: "BUILD", task_state: "scheduling", desired: "active", ports: ["port-srv1-0001"] });
    await until("ACTIVE", async () => store.get(SERVER, "srv1")?.status === "ACTIVE");
    expect(store.get(PORT, "port-srv1-0001")).toMatchObject({ binding_host_id: SELF, binding_vtep: lab.vteps[0], device_id: "srv1", status: "ACTIVE" });
    const tap = tapNameFor("port-srv1-0001");
    expect(JSON.parse(await sh("ip", ["-n", lab.hosts[0], "-j", "link", "show", tap]))[0]).toMatchObject({ master: `psbr-${VNI}`, mtu: 1450 });
    expect(await sh("bridge", ["-n", lab.hosts[0], "fdb", "show", "dev", `psvx-${VNI}`])).toContain(`dst ${lab.vteps[1]}`);
    const leases = await readFile(join(dir, "h1", `dnsmasq-psbr-${VNI}`, "hosts"), "utf8");
    expect(leases).toContain("fa:16:3e:61:00:10");
    expect(leases).toContain("10.61.0.10");
    expect(leases).not.toContain("fa:16:3e:61:00:20"); // host 2's port: host 2 answers for it
    const consoleLog = join(dir, "instances", "srv1", "console.log");
    const ready = await until("guest READY", async () => (await readFile(consoleLog, "utf8").catch(() => "")).match(/PEERSTACK-READY [^\n]*/)?.[0]);
    expect(ready).toMatch(/hostname=net-vm id=srv1 ip=10\.61\.0\.10\/24 mtu=1450/);
    await until("ping across VXLAN", async () => (await nsCode(`psnet-rc-g2`, "ping", ["-c", "1", "-W", "1", "10.61.0.10"])).code === 0, 60_000);

    await store.put(SERVER, "srv1", { desired: "deleted" });
    await until("record removed", async () => store.get(SERVER, "srv1") === undefined);
    expect(await qemuPidsMentioning(dir)).toEqual([]);
    expect((await nsCode(lab.hosts[0], "ip", ["link", "show", tap])).code).not.toBe(0);
    expect(store.get(PORT, "port-srv1-0001")).toMatchObject({ binding_host_id: "", status: "DOWN" });
    await until("network removed at resync", async () => (await nsCode(lab.hosts[0], "ip", ["link", "show", `psbr-${VNI}`])).code !== 0, 15_000);
  }, 180_000);
});
