// Two real `peerstack node` processes with the reconciler on: the test image's kernel, initrd and disk
// uploaded to node 1 through Glance, a server created through node 2 is placed by the auction, its owner
// (node 1: node 2 offers no vCPUs) boots it under QEMU from the Glance images (kernel_id/ramdisk_id),
// reports ACTIVE and the guest prints its ready marker; deleting it leaves no QEMU.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitFor, type Mesh } from "./helpers/mesh-process.ts";
import { killAllQemu, qemuPidsMentioning, testImage } from "./helpers/vm.ts";

const PASSWORD = "agent-vm-secret";

describe("a server booted through the agents' API", () => {
  let mesh: Mesh;
  const n = (i: number) => mesh.nodes[i - 1];
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    await testImage();
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    delete process.env.PEERSTACK_RECONCILER;
    // Node 2 (the front node) offers no vCPUs, so the auction must pick node 1 (the image holder).
    // TODO(images): with node 2 as the owner the fetch of the 65 MB kernel over the blob stream fails
    // with libp2p's "StreamBufferError: Read buffer overflow - 4194352 > 4194304" (see docs/notes/wiring.md).
    mesh = await startMesh(1, { prefix: "psvm-agent-" });
    process.env.PEERSTACK_VCPUS = "0";
    try {
      await mesh.add("n2");
    } finally {
      delete process.env.PEERSTACK_VCPUS;
    }
  }, 600_000);
  afterAll(async () => {
    if (mesh) {
      await mesh.nodes.reduce((p, x) => p.then(() => killAllQemu(join(x.spec.dataDir, "instances")).then(() => undefined)), Promise.resolve());
      await mesh.destroy();
    }
    for (const [k, v] of [["PEERSTACK_ADMIN_PASSWORD", saved.pw], ["PEERSTACK_RECONCILER", saved.rc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  async function call(i: number, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${n(i).httpUrl}${path}`, {
      method,
      headers: { ...headers, ...(token ? { "x-auth-token": token } : {}), ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }

  async function token(i: number): Promise<string> {
    const res = await fetch(`${n(i).httpUrl}/identity/v3/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } }, scope: { project: { name: "admin", domain: { id: "default" } } } } }),
    });
    if (res.status !== 201) throw new Error(`auth on node ${i}: ${res.status} ${await res.text()}`);
    return res.headers.get("x-subject-token")!;
  }

  async function upload(t: string, file: string, meta: Record<string, unknown>): Promise<string> {
    const img = await call(1, "POST", "/image/v2/images", t, { visibility: "public", ...meta });
    expect(img.status).toBe(201);
    const up = await fetch(`${n(1).httpUrl}/image/v2/images/${img.body.id}/file`, { method: "PUT", headers: { "x-auth-token": t, "content-type": "application/octet-stream" }, body: readFileSync(file) });
    expect(up.status).toBe(204);
    return img.body.id as string;
  }

  it("create through node 2 → placed on node 1 by the auction, ACTIVE, guest ready; delete leaves no QEMU", async () => {
    const img = await testImage();
    const t1 = await token(1);
    const kernel = await upload(t1, img.vmlinux, { name: "test-kernel", disk_format: "aki", container_format: "aki" });
    const ramdisk = await upload(t1, img.initrd, { name: "test-initrd", disk_format: "ari", container_format: "ari" });
    const disk = await upload(t1, img.qcow2, { name: "test-disk", disk_format: "qcow2", container_format: "bare", kernel_id: kernel, ramdisk_id: ramdisk, os_command_line: img.cmdline });
    const t2 = await waitFor("admin on node 2", () => token(2), 20_000, 200);
    const v = { "OpenStack-API-Version": "compute 2.37" };
    const created = await waitFor("server create on node 2", async () => {
      const r = await call(2, "POST", "/compute/v2.1/servers", t2, { server: { name: "vm1", flavorRef: "1", imageRef: disk, networks: "none" } }, v);
      if (r.status === 202) return r.body.server as { id: string };
      if (r.status !== 400) throw new Error(JSON.stringify(r.body)); // 400 until node 2 has the image record
      return undefined;
    }, 10_000, 200);
    const t0 = Date.now();
    const active = await waitFor("ACTIVE", async () => {
      const r = await call(1, "GET", `/compute/v2.1/servers/${created.id}`, t1, undefined, v);
      const s = r.body.server as Record<string, any> | undefined;
      return s?.status === "ACTIVE" || s?.status === "ERROR" ? s : undefined;
    }, 180_000, 250);
    if (active.status === "ERROR") throw new Error(`server went to ERROR: ${JSON.stringify(active.fault)}\n${n(2).logs.filter((l) => /image|blob/i.test(l)).slice(-15).join("\n")}`);
    console.log(`create-to-ACTIVE through the agents: ${Date.now() - t0} ms`);
    const rec = await n(1).record("server", created.id);
    expect(rec?.host).toBe(n(1).id);
    expect(active.status).toBe("ACTIVE");
    const owner = n(1);
    expect((await qemuPidsMentioning(owner.spec.dataDir)).length).toBeGreaterThan(0);
    // The guest really booted from the fetched kernel + disk (its ready marker on the console).
    await waitFor("guest ready marker", async () => /PEERSTACK-READY/.test(readFileSync(join(owner.spec.dataDir, "instances", created.id, "console.log"), "utf8")), 120_000, 250);
    console.log(`create-to-guest-ready: ${Date.now() - t0} ms`);

    expect((await call(1, "DELETE", `/compute/v2.1/servers/${created.id}`, t1)).status).toBe(204);
    await waitFor("server gone", async () => (await call(2, "GET", `/compute/v2.1/servers/${created.id}`, t2)).status === 404, 60_000, 250);
    await waitFor("no QEMU left", async () => (await qemuPidsMentioning(mesh.dir)).length === 0, 60_000, 250);
  }, 600_000);
});
