import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { IMAGE, NETWORK, PORT, SERVER, SUBNET } from "../../protocol/records.ts";
import { openCrdtStore, type CrdtStore } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { reconciler, type Reconciler } from "./reconciler.ts";
import { FakeCompute, FakeNetwork, FakeStorage } from "./testing.ts";

const SELF = "node-a";

async function setup(opts: { network?: boolean } = {}) {
  const clock = new ManualClock();
  const store: CrdtStore = await openCrdtStore({ node: SELF }, { clock, kv: new MemoryKv() });
  // The catalog's record of the image: only an active image with a bootable disk_format is imported.
  await store.put(IMAGE, "img1", { status: "active", disk_format: "qcow2" });
  const compute = new FakeCompute();
  const storage = new FakeStorage();
  const network = opts.network ? new FakeNetwork() : undefined;
  const fetched: string[] = [];
  const images = {
    async localPath(id: string) {
      fetched.push(id);
      return `/cache/${id}.qcow2`;
    },
  };
  const init = { resyncMs: 5_000, underlay: { dev: "eth0", localIp: "192.0.2.1" }, dhcpServerIp: () => "10.0.0.2" };
  const make = () => reconciler(init)({ self: SELF, clock, store, compute, storage, network, images });
  const r: Reconciler = make();
  return { clock, store, compute, storage, network, fetched, r, make };
}

const server = (id: string, extra: Record<string, unknown> = {}) => ({
  name: `vm ${id}`,
  project_id: "p1",
  flavor: { vcpus: 2, ram: 256, disk: 2 },
  image_id: "img1",
  host: SELF,
  attempt: 1,
  status: "BUILD",
  task_state: "scheduling",
  vm_state: "building",
  power_state: 0,
  desired: "active",
  ...extra,
});

async function write(t: Awaited<ReturnType<typeof setup>>, id: string, fields: Record<string, unknown>) {
  await t.store.put(SERVER, id, fields);
  await t.r.idle();
  return t.store.get(SERVER, id);
}

describe("reconciler (fake drivers, real CRDT store)", () => {
  it("builds an owned server: image imported, root volume cloned, hypervisor spawned, BUILD → ACTIVE", async () => {
    const t = await setup();
    await t.r.start();
    const s = await write(t, "s1", server("s1"));
    expect(s).toMatchObject({ status: "ACTIVE", vm_state: "active", task_state: null, power_state: 1 });
    expect(typeof s!.launched_at).toBe("string");
    expect(t.fetched).toEqual(["img1"]);
    expect(t.storage.items.get("volume/s1-root")).toMatchObject({ sizeBytes: 2 * 2 ** 30, origin: { kind: "image", id: "img1" } });
    const spec = t.compute.vms.get("s1")!.spec;
    expect(spec).toMatchObject({ id: "s1", vcpus: 2, memoryMb: 256, disks: [{ path: "/fake/volumes/s1-root.qcow2", format: "qcow2" }], nics: [] });
    expect(spec.metadata).toMatchObject({ hostname: "vm-s1", extra: { instance_id: "s1" } });
    // a second pass changes nothing and spawns nothing
    await t.r.resync();
    expect(t.compute.calls.filter((c) => c.startsWith("create"))).toEqual(["create s1"]);
    await t.r.stop();
  });

  it("ignores servers owned by other nodes and servers still scheduling", async () => {
    const t = await setup();
    await t.r.start();
    await write(t, "other", server("other", { host: "node-b" }));
    await write(t, "sched", server("sched", { host: undefined }));
    expect(t.compute.calls).toEqual([]);
    expect(t.store.get(SERVER, "other")!.status).toBe("BUILD");
    await t.r.stop();
  });

  it("stop → SHUTOFF, start → ACTIVE, soft and hard reboots once per request, delete removes everything and the record", async () => {
    const t = await setup();
    await t.r.start();
    await write(t, "s1", server("s1"));
    expect(await write(t, "s1", { desired: "stopped" })).toMatchObject({ status: "SHUTOFF", vm_state: "stopped", power_state: 4, task_state: null });
    expect(t.compute.vms.get("s1")!.state).toBe("stopped");
    expect(await write(t, "s1", { desired: "active" })).toMatchObject({ status: "ACTIVE", power_state: 1 });
    expect(t.compute.vms.get("s1")!.state).toBe("running");
    expect(await write(t, "s1", { reboot_seq: 1, reboot_type: "SOFT" })).toMatchObject({ status: "ACTIVE", reboot_done: 1 });
    expect(await write(t, "s1", { reboot_seq: 2, reboot_type: "HARD" })).toMatchObject({ status: "ACTIVE", reboot_done: 2 });
    await t.r.resync();
    expect(t.compute.calls.filter((c) => c.startsWith("reboot-"))).toEqual(["reboot-soft s1", "reboot-hard s1"]);
    expect(await write(t, "s1", { desired: "deleted" })).toBeUndefined();
    expect(t.store.stateOf(SERVER, "s1")!.deleted).toBeDefined();
    expect(t.compute.vms.size).toBe(0);
    expect(t.storage.items.has("volume/s1-root")).toBe(false);
    await t.r.stop();
  });

  it("stopped before it was built: builds disk and hypervisor, then stops it (SHUTOFF); a later start boots it", async () => {
    const t = await setup();
    await t.r.start();
    expect(await write(t, "s1", server("s1", { desired: "stopped" }))).toMatchObject({ status: "SHUTOFF", power_state: 4 });
    expect(t.storage.items.has("volume/s1-root")).toBe(true);
    expect(t.compute.vms.get("s1")!.state).toBe("stopped");
    expect(await write(t, "s1", { desired: "active" })).toMatchObject({ status: "ACTIVE" });
    await t.r.stop();
  });

  it("a server re-placed on another node: this host's leftovers are collected at the resync", async () => {
    const t = await setup();
    await t.r.start();
    await write(t, "s1", server("s1"));
    await write(t, "s1", { host: "node-b", attempt: 2 });
    expect(t.compute.vms.has("s1")).toBe(true);
    await t.clock.run(5_000, 500);
    await t.r.idle();
    expect(t.compute.vms.has("s1")).toBe(false);
    expect(t.storage.items.has("volume/s1-root")).toBe(false);
    expect(t.store.get(SERVER, "s1")).toMatchObject({ host: "node-b" });
    await t.r.stop();
  });

  it("a guest that powers itself off becomes SHUTOFF (and stays off) at the next periodic resync", async () => {
    const t = await setup();
    await t.r.start();
    await write(t, "s1", server("s1"));
    t.compute.vms.get("s1")!.state = "stopped";
    await t.clock.run(5_000, 500);
    await t.r.idle();
    expect(t.store.get(SERVER, "s1")).toMatchObject({ status: "SHUTOFF", desired: "stopped", power_state: 4 });
    expect(t.compute.calls.filter((c) => c.startsWith("create"))).toEqual(["create s1"]);
    await t.r.stop();
  });

  it("a failing step ends in ERROR with a fault naming the object; ERROR is not retried; delete still cleans up", async () => {
    const t = await setup();
    t.storage.fail.createVolume = new Error("no space left");
    await t.r.start();
    const s = await write(t, "s1", server("s1"));
    expect(s).toMatchObject({ status: "ERROR", vm_state: "error" });
    expect((s!.fault as { message: string }).message).toBe('creating root volume "s1-root" from image "img1" for server "s1": no space left');
    t.storage.fail = {};
    await t.r.resync();
    expect(t.store.get(SERVER, "s1")!.status).toBe("ERROR");
    expect(t.compute.calls).toEqual([]);
    // a hard reboot retries the build
    expect(await write(t, "s1", { reboot_seq: 1, reboot_type: "HARD" })).toMatchObject({ status: "ACTIVE", fault: null });
    expect(await write(t, "s1", { desired: "deleted" })).toBeUndefined();
    await t.r.stop();
  });

  it("a failing delete keeps the record (fault set) and is retried at the next resync", async () => {
    const t = await setup();
    await t.r.start();
    await write(t, "s1", server("s1"));
    t.storage.fail.delete = new Error("volume busy");
    const s = await write(t, "s1", { desired: "deleted" });
    expect(s).toMatchObject({ status: "DELETED", task_state: "deleting" });
    expect((s!.fault as { message: string }).message).toContain('deleting root volume "s1-root" for server "s1": volume busy');
    t.storage.fail = {};
    await t.clock.run(5_000, 500);
    await t.r.idle();
    expect(t.store.get(SERVER, "s1")).toBeUndefined();
    expect(t.storage.items.has("volume/s1-root")).toBe(false);
    await t.r.stop();
  });

  it("after a crash: adopts the running hypervisor of a half-done create (BUILD) without spawning again; collects orphans", async () => {
    const t = await setup();
    await t.store.put(SERVER, "s1", server("s1", { task_state: "spawning" }));
    await t.store.put(SERVER, "gone", server("gone"));
    await t.store.remove(SERVER, "gone");
    await t.store.put(SERVER, "moved", server("moved", { host: "node-b" }));
    await t.storage.importImage("img1", "/cache/img1.qcow2");
    for (const id of ["s1", "gone", "moved"]) {
      await t.storage.createVolume(`${id}-root`, 1, { fromImage: "img1" });
      await t.compute.create({ id, memoryMb: 256, disks: [], nics: [] });
    }
    t.compute.calls.length = 0;
    await t.r.start();
    await t.r.idle();
    expect(t.store.get(SERVER, "s1")).toMatchObject({ status: "ACTIVE" });
    expect(t.compute.calls.filter((c) => c.startsWith("create"))).toEqual([]);
    expect([...t.compute.vms.keys()]).toEqual(["s1"]);
    expect([...t.storage.items.keys()].sort()).toEqual(["image/img1", "volume/s1-root"]);
    await t.r.stop();
  });

  it("ports: binds the port here, makes network + tap, flood list and l2pop from other hosts' bindings, DHCP leases for ours; unplugs on delete", async () => {
    const t = await setup({ network: true });
    const net = t.network!;
    await t.store.put(NETWORK, "n1", { name: "net", vni: 4242, mtu: 1450 });
    await t.store.put(SUBNET, "sub1", { network_id: "n1", cidr: "10.0.0.0/24", gateway_ip: "10.0.0.1" });
    await t.store.put(PORT, "p1aaaaaaaaaaaaaa", { network_id: "n1", mac_address: "fa:16:3e:00:00:01", fixed_ips: [{ subnet_id: "sub1", ip_address: "10.0.0.5" }] });
    await t.store.put(PORT, "p2", { network_id: "n1", mac_address: "fa:16:3e:00:00:02", fixed_ips: [{ subnet_id: "sub1", ip_address: "10.0.0.6" }], binding_host_id: "node-b", binding_vtep: "192.0.2.2" });
    await t.r.start();
    const s = await write(t, "s1", server("s1", { ports: ["p1aaaaaaaaaaaaaa"] }));
    expect(s!.status).toBe("ACTIVE");
    expect(t.store.get(PORT, "p1aaaaaaaaaaaaaa")).toMatchObject({ binding_host_id: SELF, binding_vtep: "192.0.2.1", device_id: "s1", status: "ACTIVE" });
    expect(net.nets.get("n1")).toMatchObject({ vni: 4242, mtu: 1450 });
    expect(net.ports.get("p1aaaaaaaaaaaaaa")).toMatchObject({ tapName: "tapp1aaaaaaaaa", mac: "fa:16:3e:00:00:01" });
    expect(net.fdb.get("n1")).toEqual(["192.0.2.2"]);
    expect(net.remote.get("n1")).toEqual([{ mac: "fa:16:3e:00:00:02", vtep: "192.0.2.2", ip: "10.0.0.6" }]);
    expect(net.dhcp.get("n1")).toMatchObject({ serverIp: "10.0.0.2", leases: [{ mac: "fa:16:3e:00:00:01", ip: "10.0.0.5" }] });
    const spec = t.compute.vms.get("s1")!.spec;
    expect(spec.nics).toEqual([{ tap: "tapp1aaaaaaaaa", mac: "fa:16:3e:00:00:01", mtu: 1450 }]);
    expect(spec.metadata).toMatchObject({ ip: "10.0.0.5/24", gateway: "10.0.0.1", mtu: 1450 });
    // another host binds a port on the network: our flood list follows
    const other = await openCrdtStore({ node: "node-c" }, { clock: t.clock, kv: new MemoryKv() });
    const delta = await other.put(PORT, "p3", { network_id: "n1", mac_address: "fa:16:3e:00:00:03", binding_host_id: "node-c", binding_vtep: "192.0.2.3" });
    await t.store.applyRemote([delta]);
    await t.clock.run(10, 1);
    await new Promise((r) => setImmediate(r));
    expect(net.fdb.get("n1")).toEqual(["192.0.2.2", "192.0.2.3"]);
    // delete: tap gone, port unbound; the network goes at the next resync (no local ports left)
    await write(t, "s1", { desired: "deleted" });
    expect(net.ports.size).toBe(0);
    expect(t.store.get(PORT, "p1aaaaaaaaaaaaaa")).toMatchObject({ binding_host_id: "", status: "DOWN" });
    await t.r.resync();
    expect(net.nets.size).toBe(0);
    await t.r.stop();
  });

  it("config drive: by default it carries the record's keys, user_data, meta and the port's static address; config_drive_requested false gets none", async () => {
    const t = await setup({ network: true });
    await t.store.put("node", SELF, { az: "edge-a" });
    await t.store.put(NETWORK, "n1", { name: "net", vni: 4243, mtu: 1450 });
    await t.store.put(SUBNET, "sub1", { network_id: "n1", cidr: "10.0.0.0/24", gateway_ip: "10.0.0.1", dns_nameservers: ["10.0.0.3"] });
    await t.store.put(PORT, "pcdaaaaaaaaaaaaa", { network_id: "n1", mac_address: "fa:16:3e:00:00:0c", fixed_ips: [{ subnet_id: "sub1", ip_address: "10.0.0.9" }] });
    await t.r.start();
    const md = { hostname: "cd-1", key_name: "k1", ssh_keys: ["ssh-ed25519 AAAA k1"], user_data: "IyEvYmluL3NoCg==", extra: { role: "web" } };
    const s = await write(t, "s1", server("s1", { ports: ["pcdaaaaaaaaaaaaa"], metadata: md }));
    expect(s).toMatchObject({ status: "ACTIVE", config_drive: true });
    expect(t.compute.vms.get("s1")!.spec.configDrive).toEqual({
      uuid: "s1", name: "vm s1", hostname: "cd-1", availabilityZone: "edge-a", projectId: "p1", launchIndex: 0,
      keys: [{ name: "k1", data: "ssh-ed25519 AAAA k1" }], meta: { role: "web" }, userDataBase64: "IyEvYmluL3NoCg==",
      links: [{ id: "tappcdaaaaaaaa", mac: "fa:16:3e:00:00:0c", mtu: 1450 }],
      networks: [{ link: "tappcdaaaaaaaa", networkId: "n1", address: "10.0.0.9/24", gateway: "10.0.0.1", dns: ["10.0.0.3"] }],
    });
    const off = await write(t, "s2", server("s2", { config_drive_requested: false }));
    expect(off).toMatchObject({ status: "ACTIVE", config_drive: false });
    expect(t.compute.vms.get("s2")!.spec.configDrive).toBeUndefined();
    await t.r.stop();
  });

  it("a server with ports on a host without a network driver is ERROR, naming the server", async () => {
    const t = await setup();
    await t.r.start();
    const s = await write(t, "s1", server("s1", { ports: ["p1"] }));
    expect(s!.status).toBe("ERROR");
    expect((s!.fault as { message: string }).message).toBe('plugging ports for server "s1": server "s1" has ports but this host has no network driver configured');
    await t.r.stop();
  });
});
