// Three real `peerstack node` processes on loopback serving the OpenStack API on their HTTP listener:
// a token issued on node 1 works on node 3, a flavor created on node 2 is listed on node 3, a subnet
// created on node 1 gives a port created on node 3 an address (IPAM block granted over libp2p; node 2
// fetches a block in the background without allocating), and
// the real `openstack` CLI issues a token against node 2 with the openrc node 2 wrote.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitFor, type Mesh } from "./helpers/mesh-process.ts";

const run = promisify(execFile);
const PASSWORD = "agent-api-secret";

describe("OpenStack API on real agents", () => {
  let mesh: Mesh;
  const n = (i: number) => mesh.nodes[i - 1];
  let netId = "";
  let imageId = "";
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    process.env.PEERSTACK_RECONCILER = "off";
    mesh = await startMesh(3, { prefix: "psapi-" });
  }, 90_000);
  afterAll(async () => {
    await mesh?.destroy();
    for (const [k, v] of [["PEERSTACK_ADMIN_PASSWORD", saved.pw], ["PEERSTACK_RECONCILER", saved.rc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  async function call(i: number, method: string, path: string, token?: string, body?: unknown) {
    const res = await fetch(`${n(i).httpUrl}${path}`, {
      method,
      headers: { ...(token ? { "x-auth-token": token } : {}), ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }

  async function token(i: number): Promise<string> {
    const r = await call(i, "POST", "/identity/v3/auth/tokens", undefined, {
      auth: {
        identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } },
        scope: { project: { name: "admin", domain: { id: "default" } } },
      },
    });
    if (r.status !== 201) throw new Error(`auth on node ${i}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.headers.get("x-subject-token")!;
  }

  it("serves the API and /healthz publicly, the native routes on the operator socket", async () => {
    expect((await call(1, "GET", "/healthz")).body.ok).toBe(true);
    expect((await n(3).status()).node).toBe(n(3).id);
    expect(await n(2).opJson<string>("/metrics")).toContain("# TYPE");
    const root = await call(1, "GET", "/identity/v3");
    expect(root.status).toBe(200);
    expect(root.body.version.id).toBe("v3.14");
  });

  it("a token issued on node 1 works on node 3; a flavor created on node 2 is listed on node 3", async () => {
    const t1 = await token(1);
    const flavors = await waitFor("node 3 accepting node 1's token", async () => {
      const r = await call(3, "GET", "/compute/v2.1/flavors", t1);
      return r.status === 200 ? r.body.flavors : undefined;
    }, 20_000, 200);
    expect(flavors.map((f: { name: string }) => f.name)).toContain("m1.tiny");
    // A garbage token is refused on node 3 (the check above could not pass with auth off).
    expect((await call(3, "GET", "/compute/v2.1/flavors", `${t1.slice(0, -4)}AAAA`)).status).toBe(401);

    const t2 = await waitFor("admin on node 2", () => token(2), 20_000, 200);
    const created = await call(2, "POST", "/compute/v2.1/flavors", t2, { flavor: { name: "agent.f1", vcpus: 1, ram: 256, disk: 1, id: "agent-f1" } });
    expect(created.status).toBe(200);
    const listed = await waitFor("flavor on node 3", async () => {
      const r = await call(3, "GET", "/compute/v2.1/flavors", t1);
      return r.body.flavors?.find((f: { id: string }) => f.id === "agent-f1");
    }, 10_000, 100);
    expect(listed.name).toBe("agent.f1");
  }, 60_000);

  it("a subnet created on node 1 gives a port created on node 3 an address", async () => {
    const t1 = await token(1);
    const net = await call(1, "POST", "/networking/v2.0/networks", t1, { network: { name: "agent-net" } });
    expect(net.status).toBe(201);
    netId = net.body.network.id as string;
    const sub = await call(1, "POST", "/networking/v2.0/subnets", t1, { subnet: { network_id: netId, cidr: "10.77.0.0/24", ip_version: 4, name: "agent-sub" } });
    expect(sub.status).toBe(201);
    const subId = sub.body.subnet.id as string;
    // Node 2 never allocates on the subnet, yet gets a block of it in the background (node/ipam/prefetch.ts):
    // cut off later, it could still address ports.
    const blocks2 = await waitFor("a block of the subnet owned by node 2", async () => {
      const r = await n(2).opJson<{ records: Array<{ subnet: string; owner: string }> }>("/mesh/records/ipblock");
      const mine = (r.records as Array<{ subnet: string; owner: string }>).filter((b) => b.subnet === subId && b.owner === n(2).id);
      return mine.length > 0 ? mine : undefined;
    }, 15_000, 250);
    expect(blocks2).toHaveLength(1);
    const port = await waitFor("port on node 3", async () => {
      const r = await call(3, "POST", "/networking/v2.0/ports", t1, { port: { network_id: netId, name: "p3" } });
      if (r.status === 201) return r.body.port;
      if (r.status >= 500) throw new Error(JSON.stringify(r.body));
      return undefined;
    }, 15_000, 250);
    expect(port.fixed_ips).toHaveLength(1);
    expect(port.fixed_ips[0].subnet_id).toBe(subId);
    expect(port.fixed_ips[0].ip_address).toMatch(/^10\.77\.0\.\d+$/);
    // Node 1's port gets a different address (node 3's came from a block granted to it).
    const p1 = await call(1, "POST", "/networking/v2.0/ports", t1, { port: { network_id: netId, name: "p1" } });
    expect(p1.status).toBe(201);
    expect(p1.body.port.fixed_ips[0].ip_address).not.toBe(port.fixed_ips[0].ip_address);
  }, 60_000);

  it("an image uploaded to node 1 downloads from node 3 (fetched over the blob stream)", async () => {
    const t1 = await token(1);
    const img = await call(1, "POST", "/image/v2/images", t1, { name: "agent-img", disk_format: "raw", container_format: "bare", visibility: "public" });
    expect(img.status).toBe(201);
    imageId = img.body.id as string;
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 12)) & 0xff;
    const up = await fetch(`${n(1).httpUrl}/image/v2/images/${img.body.id}/file`, { method: "PUT", headers: { "x-auth-token": t1, "content-type": "application/octet-stream" }, body: data });
    expect(up.status).toBe(204);
    const got = await waitFor("image bits on node 3", async () => {
      const res = await fetch(`${n(3).httpUrl}/image/v2/images/${img.body.id}/file`, { headers: { "x-auth-token": t1 } });
      return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
    }, 20_000, 250);
    expect(got.equals(data)).toBe(true);
    // Node 3 now holds it too: the fetcher recorded it as a holder.
    const sha = createHash("sha256").update(data).digest("hex");
    expect(existsSync(join(n(3).spec.dataDir, "images", "sha256", sha))).toBe(true);
    expect(existsSync(join(n(2).spec.dataDir, "images", "sha256", sha))).toBe(false);
  }, 60_000);

  it("a server created through node 1 is placed by the auction: host set, port addressed, quota used", async () => {
    expect(netId && imageId).toBeTruthy();
    const t1 = await token(1);
    const r = await call(1, "POST", "/compute/v2.1/servers", t1, { server: { name: "agent-vm", flavorRef: "1", imageRef: imageId, networks: [{ uuid: netId }] } });
    expect(r.status).toBe(202);
    const id = r.body.server.id as string;
    // The record as node 3 sees it: host + attempt written by node 1's placement service.
    const rec = await waitFor("server placed (seen on node 3)", async () => {
      const x = await n(3).record("server", id, 2000);
      return typeof x?.host === "string" ? x : undefined;
    }, 30_000, 100);
    expect([n(1).id, n(2).id, n(3).id]).toContain(rec.host);
    expect(rec.task_state).toBe("spawning");
    expect(rec.status).toBe("BUILD");
    const ports = await call(3, "GET", `/networking/v2.0/ports?device_id=${id}`, t1);
    expect(ports.body.ports).toHaveLength(1);
    expect(ports.body.ports[0].fixed_ips[0].ip_address).toMatch(/^10\.77\.0\.\d+$/);
    const limits = await call(1, "GET", "/compute/v2.1/limits", t1);
    expect(limits.body.limits.absolute.totalInstancesUsed).toBe(1);
    expect(limits.body.limits.absolute.maxTotalInstances).toBe(10);
  }, 60_000);

  it("openstack token issue against node 2 with the openrc node 2 wrote", async () => {
    const rcPath = join(n(2).spec.dataDir, "openrc");
    expect(existsSync(rcPath)).toBe(true);
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: mesh.dir };
    for (const m of readFileSync(rcPath, "utf8").matchAll(/^export (\w+)='(.*)'$/gm)) env[m[1]] = m[2];
    expect(env.OS_AUTH_URL).toBe(`${n(2).httpUrl}/identity`);
    const { stdout } = await run("openstack", ["token", "issue", "-f", "json"], { env, timeout: 60_000 });
    const tok = JSON.parse(stdout) as { id: string; project_id: string };
    expect(tok.id.split(".")).toHaveLength(3);
    // The CLI's token is node 2's and works on node 1.
    expect((await call(1, "GET", "/compute/v2.1/flavors", tok.id)).status).toBe(200);
  }, 90_000);
});
