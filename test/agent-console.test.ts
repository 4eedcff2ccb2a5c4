// `os-getConsoleOutput` from any node: two real `peerstack node` processes (reconciler on, real QEMU/TCG).
// The test image is uploaded to node 1 through Glance; node 2 offers no vCPUs, so a server created through
// node 2 is placed on node 1. Node 2 (not the owner) answers the console action by asking node 1 over
// `/peerstack/console/1`; the text holds the guest's ready marker. With node 1 cut off, node 2 answers 409
// naming the server. The real `openstack console log show` against node 2 prints the same.
import { readFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitFor, type Mesh } from "./helpers/mesh-process.ts";
import { killAllQemu, testImage } from "./helpers/vm.ts";

const PASSWORD = "agent-console-secret";
const run = promisify(execFile);

describe("console output of a server read through a node that is not its owner", () => {
  let mesh: Mesh;
  const n = (i: number) => mesh.nodes[i - 1];
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    await testImage();
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    delete process.env.PEERSTACK_RECONCILER;
    mesh = await startMesh(1, { prefix: "psvm-console-" });
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

  it("node 2 returns node 1's guest console (ready marker, line tail); owner cut off → 409 naming the server", async () => {
    const img = await testImage();
    const t1 = await token(1);
    const kernel = await upload(t1, img.vmlinux, { name: "test-kernel", disk_format: "aki", container_format: "aki" });
    const ramdisk = await upload(t1, img.initrd, { name: "test-initrd", disk_format: "ari", container_format: "ari" });
    const disk = await upload(t1, img.qcow2, { name: "test-disk", disk_format: "qcow2", container_format: "bare", kernel_id: kernel, ramdisk_id: ramdisk, os_command_line: img.cmdline });
    const t2 = await waitFor("admin on node 2", () => token(2), 20_000, 200);
    const v = { "OpenStack-API-Version": "compute 2.37" };
    const created = await waitFor("server create on node 2", async () => {
      const r = await call(2, "POST", "/compute/v2.1/servers", t2, { server: { name: "vm-console", flavorRef: "1", imageRef: disk, networks: "none" } }, v);
      if (r.status === 202) return r.body.server as { id: string };
      if (r.status !== 400) throw new Error(JSON.stringify(r.body)); // 400 until node 2 has the image record
      return undefined;
    }, 10_000, 200);
    const action = (i: number, t: string, body: unknown) => call(i, "POST", `/compute/v2.1/servers/${created.id}/action`, t, body, v);

    // ACTIVE as seen from node 2 (the owner's status replicated), host = node 1.
    const active = await waitFor("ACTIVE on node 2", async () => {
      const s = (await call(2, "GET", `/compute/v2.1/servers/${created.id}`, t2, undefined, v)).body.server as Record<string, any> | undefined;
      return s?.status === "ACTIVE" || s?.status === "ERROR" ? s : undefined;
    }, 180_000, 250);
    expect(active.status, JSON.stringify(active.fault)).toBe("ACTIVE");
    expect((await n(2).record("server", created.id))?.host).toBe(n(1).id);

    // Through node 2, which has no instance of its own: the text comes from node 1 over libp2p.
    const t0 = Date.now();
    const out = await waitFor("ready marker through node 2", async () => {
      const r = await action(2, t2, { "os-getConsoleOutput": {} });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return /PEERSTACK-READY/.test(r.body.output as string) ? (r.body.output as string) : undefined;
    }, 120_000, 500);
    console.log(`console through node 2: ready marker after ${Date.now() - t0} ms of polling, ${out.length} chars`);
    // The same text the owner has on disk (its tail, as the owner's file only grows).
    const onDisk = readFileSync(join(n(1).spec.dataDir, "instances", created.id, "console.log"), "utf8");
    expect(onDisk.replace(/[\x00-\x08\x0b-\x1f]/g, "")).toContain(out.slice(0, 200));
    expect(existsNoInstanceOn(2, created.id)).toBe(true);

    // length: the last N lines (Nova's split on "\n").
    const tail = await action(2, t2, { "os-getConsoleOutput": { length: 3 } });
    expect(tail.status).toBe(200);
    expect((tail.body.output as string).split("\n").length).toBeLessThanOrEqual(3);
    expect(out.endsWith(tail.body.output as string)).toBe(true);
    // The owner itself reads locally.
    const local = await action(1, t1, { "os-getConsoleOutput": { length: 50 } });
    expect(local.status).toBe(200);
    expect(local.body.output).toMatch(/PEERSTACK-READY/);

    // The real CLI against node 2: `openstack console log show` (and --lines).
    const env = { ...process.env, OS_AUTH_URL: `${n(2).httpUrl}/identity`, OS_USERNAME: "admin", OS_PASSWORD: PASSWORD, OS_PROJECT_NAME: "admin", OS_USER_DOMAIN_NAME: "Default", OS_PROJECT_DOMAIN_NAME: "Default", OS_IDENTITY_API_VERSION: "3", OS_REGION_NAME: "RegionOne" };
    const cli = async (...args: string[]) => (await run("openstack", args, { env, cwd: n(2).spec.dataDir, timeout: 60_000 })).stdout;
    expect(await cli("console", "log", "show", created.id)).toMatch(/PEERSTACK-READY/);
    const lines = await cli("console", "log", "show", "--lines", "2", created.id);
    expect(lines.trimEnd().split("\n").length).toBeLessThanOrEqual(2);

    // Node 2 cut off from node 1 (connection gater): 409 with a message naming the server and the host.
    await n(2).opJson("/mesh/debug/deny", { peers: [n(1).id] });
    const cut = await action(2, t2, { "os-getConsoleOutput": {} });
    expect(cut.status).toBe(409);
    const msg = JSON.stringify(cut.body);
    expect(msg).toContain(created.id);
    expect(msg).toContain(n(1).id);
    expect(msg).toMatch(/unreachable/);
    await n(2).opJson("/mesh/debug/deny", { peers: [] });

    expect((await call(1, "DELETE", `/compute/v2.1/servers/${created.id}`, t1)).status).toBe(204);
  }, 300_000);

  function existsNoInstanceOn(i: number, id: string): boolean {
    try {
      readFileSync(join(n(i).spec.dataDir, "instances", id, "console.log"));
      return false;
    } catch {
      return true;
    }
  }
});
