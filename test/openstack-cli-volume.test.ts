// The real `openstack` CLI against two real `peerstack node` processes (reconciler on, qcow2 file storage,
// QEMU under TCG): a volume created through node 2 is held by node 2; attached to a server that runs on
// node 1 it moves there (it is pristine), node 1 hot-plugs it into the running QEMU and the guest sees a
// virtio disk with the volume's serial (a user_data script prints /sys/block on the console); detach
// unplugs it; kill -9 of the owner keeps the plug (QEMU adopted); snapshots; a volume from an image (pulled by node 2); a used volume on another host is refused with 409; quota show; a volume attached
// to a stopped server is plugged when it starts and freed when the server is deleted; delete leaves no
// volume file on either node.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openstack } from "./helpers/openstack-cli.ts";
import { startMesh, waitConnected, waitFor, type Mesh } from "./helpers/mesh-process.ts";
import { diskWatchScript, killAllQemu, qemuPidsMentioning, testImage } from "./helpers/vm.ts";

const PASSWORD = "psvol-cli-secret";

const DISKS_SCRIPT = diskWatchScript({ periodS: 0.3 }); // the guest's virtio disks (name=serial) whenever they change

describe("openstack CLI: volumes end to end on real agents", () => {
  let mesh: Mesh;
  const n = (i: number) => mesh.nodes[i - 1]!;
  const saved = process.env.PEERSTACK_ADMIN_PASSWORD;

  beforeAll(async () => {
    await testImage();
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    mesh = await startMesh(1, { prefix: "psvol-cli-" });
    process.env.PEERSTACK_VCPUS = "0"; // node 2 runs no servers: the server lands on node 1
    try {
      await mesh.add("n2");
    } finally {
      delete process.env.PEERSTACK_VCPUS;
    }
  }, 600_000);
  afterAll(async () => {
    if (mesh) {
      for (const x of mesh.nodes) await killAllQemu(join(x.spec.dataDir, "instances"));
      await mesh.destroy();
    }
    if (saved === undefined) delete process.env.PEERSTACK_ADMIN_PASSWORD;
    else process.env.PEERSTACK_ADMIN_PASSWORD = saved;
  });

  const os = (i: number, args: string[]) => openstack({ url: n(i).httpUrl, dir: n(i).spec.dataDir, password: PASSWORD, timeoutMs: 90_000 }, args);
  const osJson = async (i: number, args: string[]) => (await os(i, [...args, "-f", "json"])).json();

  async function token(i: number): Promise<string> {
    const res = await fetch(`${n(i).httpUrl}/identity/v3/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } }, scope: { project: { name: "admin", domain: { id: "default" } } } } }),
    });
    if (res.status !== 201) throw new Error(`auth on node ${i}: ${res.status} ${await res.text()}`);
    return res.headers.get("x-subject-token")!;
  }

  async function call(i: number, method: string, path: string, t: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${n(i).httpUrl}${path}`, { method, headers: { ...headers, "x-auth-token": t, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }

  async function upload(t: string, file: string, meta: Record<string, unknown>): Promise<string> {
    const img = await call(1, "POST", "/image/v2/images", t, { visibility: "public", ...meta });
    expect(img.status).toBe(201);
    const up = await fetch(`${n(1).httpUrl}/image/v2/images/${img.body.id}/file`, { method: "PUT", headers: { "x-auth-token": t, "content-type": "application/octet-stream" }, body: readFileSync(file) });
    expect(up.status).toBe(204);
    return img.body.id as string;
  }

  const volumeFile = (i: number, id: string) => join(n(i).spec.dataDir, "storage", "volumes", `${id}.qcow2`);
  const snapshotFile = (i: number, id: string) => join(n(i).spec.dataDir, "storage", "snapshots", `${id}.qcow2`);
  const status = (i: number, what: string[], want: string, ms = 120_000) =>
    waitFor(`${what.join(" ")} ${want}`, async () => {
      const v = await osJson(i, what);
      if (v.status === "error") throw new Error(`${what.join(" ")} went to error`);
      return v.status === want ? v : undefined;
    }, ms, 500);

  it("volume create/list/show, server add/remove volume (guest sees the disk), snapshots, 409 across hosts, quota show/set, delete", async () => {
    const img = await testImage();
    const t1 = await token(1);
    const kernel = await upload(t1, img.vmlinux, { name: "test-kernel", disk_format: "aki", container_format: "aki" });
    const ramdisk = await upload(t1, img.initrd, { name: "test-initrd", disk_format: "ari", container_format: "ari" });
    const disk = await upload(t1, img.qcow2, { name: "test-disk", disk_format: "qcow2", container_format: "bare", kernel_id: kernel, ramdisk_id: ramdisk, os_command_line: img.cmdline });
    const mv = { "OpenStack-API-Version": "compute 2.37" };
    const created = await call(1, "POST", "/compute/v2.1/servers", t1, { server: { name: "vm1", flavorRef: "1", imageRef: disk, networks: "none", user_data: Buffer.from(DISKS_SCRIPT).toString("base64") } }, mv);
    expect(created.status).toBe(202);
    const serverId = created.body.server.id as string;
    const consoleLog = () => readFileSync(join(n(1).spec.dataDir, "instances", serverId, "console.log"), "utf8");

    // the volume: created through node 2, held there
    const v = await osJson(2, ["volume", "create", "--size", "1", "v1"]);
    expect(v).toMatchObject({ name: "v1", size: 1, status: "creating" });
    const volId = v.id as string;
    const avail = await status(1, ["volume", "show", "v1"], "available");
    expect(avail["os-vol-host-attr:host"]).toBe(n(2).id);
    expect(existsSync(volumeFile(2, volId))).toBe(true);
    const list = await osJson(1, ["volume", "list"]);
    expect(list.map((x: Record<string, unknown>) => [x.Name, x.Status, x.Size])).toEqual([["v1", "available", 1]]);

    const active = await waitFor("server ACTIVE", async () => {
      const s = (await call(1, "GET", `/compute/v2.1/servers/${serverId}`, t1, undefined, mv)).body.server as Record<string, any>;
      if (s?.status === "ERROR") throw new Error(`server ERROR: ${JSON.stringify(s.fault)}`);
      return s?.status === "ACTIVE" ? s : undefined;
    }, 180_000, 500);
    expect(active["OS-EXT-SRV-ATTR:host"] ?? (await n(1).record("server", serverId))?.host).toBeTruthy();
    await waitFor("guest disk listing", async () => /PSVOL-DISKS vda=/.test(consoleLog()), 180_000, 500);

    // attach through node 1: the pristine volume moves to node 1, which hot-plugs it
    await os(1, ["server", "add", "volume", "vm1", "v1"]);
    const inUse = await status(2, ["volume", "show", "v1"], "in-use");
    expect(inUse["os-vol-host-attr:host"]).toBe(n(1).id);
    expect(inUse.attachments).toEqual([expect.objectContaining({ server_id: serverId, volume_id: volId, device: "/dev/vdb" })]);
    const serial = volId.slice(0, 20);
    await waitFor("the guest sees the volume", async () => consoleLog().includes(`vdb=${serial}`), 60_000, 300);
    expect(existsSync(volumeFile(1, volId))).toBe(true);
    await waitFor("node 2 dropped its copy", async () => !existsSync(volumeFile(2, volId)), 60_000, 500);
    const listed = await osJson(2, ["volume", "list"]);
    expect(listed[0]["Attached to"]).toEqual([expect.objectContaining({ server_id: serverId, device: "/dev/vdb" })]);
    expect(await osJson(1, ["server", "show", "vm1"])).toMatchObject({ volumes_attached: [expect.objectContaining({ id: volId })] });
    await expect(os(2, ["volume", "delete", "v1"])).rejects.toThrow(/HTTP 400/);

    // kill -9 the owner with the volume plugged: the restarted agent adopts the QEMU and leaves the disk alone
    const qemuBefore = await qemuPidsMentioning(join(n(1).spec.dataDir, "instances"));
    const consoleBefore = consoleLog().length;
    await n(1).kill9();
    n(1).spec.join = [n(2).p2p[0]!];
    await n(1).start(60_000);
    await waitConnected([n(1), n(2)], 1, 30_000);
    await new Promise((r) => setTimeout(r, 11_000)); // the start-up pass and one periodic resync
    expect(await qemuPidsMentioning(join(n(1).spec.dataDir, "instances"))).toEqual(qemuBefore);
    expect(consoleLog().slice(consoleBefore)).not.toMatch(/PSVOL-DISKS/); // never unplugged nor plugged twice
    expect(await osJson(1, ["volume", "show", "v1"])).toMatchObject({ status: "in-use", attachments: [expect.objectContaining({ server_id: serverId })] });

    // detach through node 2: unplugged from the guest
    const shown = consoleLog().length;
    await os(2, ["server", "remove", "volume", "vm1", "v1"]);
    await status(1, ["volume", "show", "v1"], "available");
    await waitFor("the guest lost the disk", async () => /PSVOL-DISKS vda=\s*$/m.test(consoleLog().slice(shown)), 60_000, 300);

    // snapshots (on node 1, where the volume now is)
    const snap = await osJson(2, ["volume", "snapshot", "create", "--volume", "v1", "snap1"]);
    expect(snap).toMatchObject({ name: "snap1", volume_id: volId, size: 1 });
    await status(1, ["volume", "snapshot", "show", "snap1"], "available");
    expect(existsSync(snapshotFile(1, snap.id))).toBe(true);
    expect((await osJson(1, ["volume", "snapshot", "list"])).map((s: Record<string, unknown>) => [s.Name, s.Status])).toEqual([["snap1", "available"]]);

    // a used volume held by node 2 cannot be attached to a server on node 1
    const v2 = await osJson(2, ["volume", "create", "--size", "1", "v2"]);
    await status(2, ["volume", "show", "v2"], "available");
    const s2 = await osJson(2, ["volume", "snapshot", "create", "--volume", "v2", "snap2"]);
    await status(2, ["volume", "snapshot", "show", "snap2"], "available");
    await expect(os(1, ["server", "add", "volume", "vm1", "v2"])).rejects.toThrow(/409.*stored on host n2 .* runs on host n1 .*only on the host that holds its data/s);
    await os(1, ["volume", "snapshot", "delete", "snap2"]);
    await waitFor("snap2 gone", async () => !(await osJson(1, ["volume", "snapshot", "list"])).some((s: Record<string, unknown>) => s.ID === s2.id), 60_000, 500);
    await os(1, ["volume", "delete", "v2"]);

    // from an image: node 2 pulls the image from node 1 (blob stream) and clones it
    const v4 = await osJson(2, ["volume", "create", "--image", "test-disk", "--size", "1", "v4"]);
    expect(v4.bootable).toBe("true");
    await status(1, ["volume", "show", "v4"], "available");
    const v4info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", volumeFile(2, v4.id)], { encoding: "utf8" })) as { "virtual-size": number; "backing-filename"?: string };
    expect(v4info["virtual-size"]).toBe(2 ** 30);
    expect(v4info["backing-filename"]).toContain(disk);
    await os(2, ["volume", "delete", "v4"]);
    await waitFor("v4 gone", async () => !existsSync(volumeFile(2, v4.id)), 60_000, 500);

    // quotas: the compute and the volume halves
    const q = await osJson(1, ["quota", "show"]);
    expect(q).toMatchObject({ volumes: 10, gigabytes: 1000, snapshots: 10, instances: 10, cores: 20 });
    // The owner (node 2) returns a deleted volume's quota once it has removed the record: wait for that.
    const usageOf = async () => (await call(2, "GET", `/volume/v3/os-quota-sets/${String(inUse["os-vol-tenant-attr:tenant_id"])}?usage=true`, await token(2))).body.quota_set as Record<string, { in_use: number; limit: number }>;
    const usage = await waitFor("deleted volumes' quota returned", async () => ((await usageOf()).volumes?.in_use === 1 ? usageOf() : undefined), 30_000, 500).catch(usageOf);
    expect(usage).toMatchObject({ volumes: { in_use: 1, limit: 10 }, snapshots: { in_use: 1 }, gigabytes: { in_use: 2 } });
    await os(2, ["quota", "set", "--volumes", "12", "--snapshots", "4", "admin"]); // admin limit change through the escrow
    await waitFor("new volume limits on node 1", async () => {
      const q2 = await osJson(1, ["quota", "show"]);
      return q2.volumes === 12 && q2.snapshots === 4 && q2.instances === 10;
    }, 30_000, 500);

    await os(1, ["volume", "snapshot", "delete", "snap1"]);
    await waitFor("snap1 gone", async () => !existsSync(snapshotFile(1, snap.id)) && (await osJson(2, ["volume", "snapshot", "list"])).length === 0, 60_000, 500);
    await os(2, ["volume", "delete", "v1"]);
    await waitFor("v1 gone", async () => (await osJson(1, ["volume", "list"])).length === 0, 60_000, 500);
    expect(existsSync(volumeFile(1, volId))).toBe(false);
    expect(existsSync(volumeFile(2, v2.id))).toBe(false);

    // attached while the server is stopped: in-use at once, plugged when its QEMU starts again; deleting the server frees it
    await os(1, ["server", "stop", "vm1"]);
    await waitFor("SHUTOFF", async () => (await osJson(1, ["server", "show", "vm1"])).status === "SHUTOFF", 120_000, 500);
    const v3 = await osJson(1, ["volume", "create", "--size", "1", "v3"]);
    await status(1, ["volume", "show", "v3"], "available");
    await os(2, ["server", "add", "volume", "vm1", "v3"]);
    await status(1, ["volume", "show", "v3"], "in-use");
    const beforeStart = consoleLog().length;
    await os(1, ["server", "start", "vm1"]);
    await waitFor("the restarted guest sees v3", async () => consoleLog().slice(beforeStart).includes(`vdb=${String(v3.id).slice(0, 20)}`), 180_000, 300);
    await os(1, ["server", "delete", "vm1"]);
    await status(2, ["volume", "show", "v3"], "available");
    await os(2, ["volume", "delete", "v3"]);
    await waitFor("v3 gone", async () => (await osJson(1, ["volume", "list"])).length === 0 && !existsSync(volumeFile(1, v3.id)), 60_000, 500);
    await waitFor("no QEMU left", async () => (await qemuPidsMentioning(mesh.dir)).length === 0, 90_000, 500);
  }, 900_000);
});
