// The real `openstack` CLI (python3-openstackclient 6.0) against a mesh of three real `peerstack node`
// processes, every step sent to a different node than the step before (each CLI run takes a fresh
// token from the node it talks to, so the catalog points there): identity, flavors, keypairs, Glance
// upload/download, Neutron, a server that really boots under QEMU (TCG) on whichever node wins the
// auction (fetching the image peer-to-peer when that is not the uploader), its lifecycle and console,
// Cinder volumes attached and detached, quotas, hypervisors, zones, server groups.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openstack, type CliResult } from "./helpers/openstack-cli.ts";
import { startMesh, waitConnected, waitFor, type Mesh } from "./helpers/mesh-process.ts";
import { quotaTotals } from "./helpers/placement-cluster.ts";
import { killAllQemu, qemuPidsMentioning, testImage } from "./helpers/vm.ts";

const PASSWORD = "psapi-mesh-secret";
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("openstack CLI against a 3-node agent mesh, each step on another node", () => {
  let mesh: Mesh;
  let cli: string;
  const saved = process.env.PEERSTACK_ADMIN_PASSWORD;
  const trail: { node: number; args: string }[] = [];

  beforeAll(async () => {
    await testImage();
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    mesh = await startMesh(3, { prefix: "psapi-mesh-" });
    await waitConnected(mesh.nodes, 2, 30_000);
    cli = join(mesh.dir, "cli");
    mkdirSync(cli, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    if (mesh) {
      for (const x of mesh.nodes) await killAllQemu(join(x.spec.dataDir, "instances")).catch(() => 0);
      await mesh.destroy();
    }
    if (saved === undefined) delete process.env.PEERSTACK_ADMIN_PASSWORD;
    else process.env.PEERSTACK_ADMIN_PASSWORD = saved;
  });

  let last = -1;
  /**
   * One CLI run on the node after the previous one. A failure is retried (on the same node) for up to
   * `retryMs`: what the previous step wrote on another node may not have replicated here yet.
   */
  async function step(args: string[], o: { retryMs?: number; retryIf?: RegExp; timeoutMs?: number; user?: string; password?: string; project?: string } = {}): Promise<CliResult & { node: number }> {
    const node = (last + 1) % mesh.nodes.length;
    last = node;
    trail.push({ node, args: args.join(" ") });
    const target = { url: mesh.nodes[node].httpUrl, dir: cli, password: o.password ?? PASSWORD, user: o.user, project: o.project, timeoutMs: o.timeoutMs ?? 120_000 };
    const start = Date.now();
    for (;;) {
      try {
        return { ...(await openstack(target, args)), node };
      } catch (err) {
        if (Date.now() - start > (o.retryMs ?? 15_000) || (o.retryIf && !o.retryIf.test(String(err)))) throw new Error(`step on node ${node + 1}: ${String(err)}`);
        await sleep(500);
      }
    }
  }

  /** Repeats a read step (each on the next node) until `ok` holds. */
  async function until<T>(what: string, args: string[], ok: (j: T) => boolean, timeoutMs = 180_000): Promise<T> {
    const start = Date.now();
    let seen: unknown;
    for (;;) {
      const j = (await step(args)).json() as T;
      if (ok(j)) return j;
      seen = j;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(seen).slice(0, 2000)}`);
      await sleep(1000);
    }
  }

  it("identity → flavors → keypair → image → network → server lifecycle → volume → quotas → hypervisors/zones/groups", async () => {
    const img = await testImage();
    const t0 = Date.now();

    const token = (await step(["token", "issue", "-f", "json"])).json();
    expect(token.id.length).toBeGreaterThan(100);
    expect(token.project_id).toMatch(/^[0-9a-f]{32}$/);

    const cat = await step(["catalog", "list", "-f", "json"]);
    const catalog = cat.json() as { Name: string; Type: string; Endpoints: string }[];
    expect(catalog.map((c) => c.Type).sort()).toEqual(expect.arrayContaining(["compute", "identity", "image", "network", "volumev3"]));
    // The catalog lists the issuing node's endpoints.
    expect(JSON.stringify(catalog.find((c) => c.Type === "compute")!.Endpoints)).toContain(`${mesh.nodes[cat.node].httpUrl}/compute/v2.1`);

    const project = (await step(["project", "create", "--description", "psapi demo", "psapi-demo", "-f", "json"])).json();
    expect(project).toMatchObject({ name: "psapi-demo", enabled: true });
    const user = (await step(["user", "create", "--password", "demo-pw", "--project", "psapi-demo", "psapi-user", "-f", "json"])).json();
    expect(user).toMatchObject({ name: "psapi-user", default_project_id: project.id });
    await step(["role", "add", "--project", "psapi-demo", "--user", "psapi-user", "member"]);
    const demoToken = (await step(["token", "issue", "-f", "json"], { user: "psapi-user", password: "demo-pw", project: "psapi-demo" })).json();
    expect(demoToken).toMatchObject({ project_id: project.id, user_id: user.id });

    const flavor = (await step(["flavor", "create", "--ram", "256", "--vcpus", "1", "--disk", "2", "psapi.small", "-f", "json"])).json();
    expect(flavor).toMatchObject({ name: "psapi.small", ram: 256, vcpus: 1, disk: 2 });
    const flavors = (await step(["flavor", "list", "-f", "json"])).json() as { Name: string; RAM: number }[];
    expect(flavors.find((f) => f.Name === "psapi.small")).toMatchObject({ RAM: 256 });

    const key = await step(["keypair", "create", "psapi-key"]);
    expect(key.stdout).toContain("PRIVATE KEY");

    const image = (await step(["image", "create", "--file", img.qcow2, "--disk-format", "qcow2", "--container-format", "bare", "--public", "psapi-image", "-f", "json"], { timeoutMs: 300_000, retryMs: 0 })).json();
    // OSC 6.0 prints the image as created, before the upload it then does.
    expect(image).toMatchObject({ name: "psapi-image", disk_format: "qcow2" });
    const images = await until<{ Name: string; Status: string }[]>("image active in the list", ["image", "list", "-f", "json"], (j) => j.some((i) => i.Name === "psapi-image" && i.Status === "active"), 30_000);
    expect(images.filter((i) => i.Name === "psapi-image")).toHaveLength(1);
    // Saved through a node that does not hold the bits: it pulls them from the uploader first.
    const saved = join(cli, "saved.qcow2");
    await step(["image", "save", "--file", saved, "psapi-image"], { timeoutMs: 300_000 });
    expect(sha256(saved)).toBe(sha256(img.qcow2));

    await step(["network", "create", "psapi-net"]);
    await step(["subnet", "create", "--network", "psapi-net", "--subnet-range", "10.61.0.0/24", "psapi-subnet"]);
    const port = (await step(["port", "create", "--network", "psapi-net", "psapi-port", "-f", "json"])).json();
    const portIp = String(JSON.stringify(port.fixed_ips)).match(/10\.61\.0\.\d+/)?.[0];
    expect(portIp).toBeDefined();

    // No NIC: these agents run on the host without an underlay, so they have no network driver (a server
    // with ports would go to ERROR "has ports but this host has no network driver"); tenant networking on
    // real hosts is what the lab tests (network namespaces + VXLAN) cover.
    const tBoot = Date.now();
    const created = await step(["--os-compute-api-version", "2.37", "server", "create", "--flavor", "psapi.small", "--image", "psapi-image", "--nic", "none", "--key-name", "psapi-key", "--wait", "psapi-vm", "-f", "json"], { timeoutMs: 400_000, retryMs: 20_000, retryIf: /No (Image|Flavor|Port|Network)|could not be found|not found/i });
    if (!created.stdout.trimStart().startsWith("{")) {
      const s = await openstack({ url: mesh.nodes[created.node].httpUrl, dir: cli, password: PASSWORD }, ["server", "show", "psapi-vm", "-f", "json"]);
      const logs = mesh.nodes.flatMap((x) => x.logs.filter((l) => /error|warn|fail/i.test(l)).slice(-8).map((l) => `${x.spec.name}: ${l.slice(0, 400)}`));
      throw new Error(`server create: ${created.stdout}\n${s.stdout}\n${logs.join("\n")}`);
    }
    const server = created.json();
    expect(server).toMatchObject({ name: "psapi-vm", status: "ACTIVE" });
    console.log(`server create --wait → ACTIVE: ${Date.now() - tBoot} ms`);
    const list = (await step(["server", "list", "-f", "json"])).json() as { Name: string; Status: string; Networks: unknown }[];
    expect(list.find((s) => s.Name === "psapi-vm")).toMatchObject({ Status: "ACTIVE" });
    const shown = (await step(["server", "show", "psapi-vm", "-f", "json"])).json();
    expect(shown).toMatchObject({ id: server.id, status: "ACTIVE", key_name: "psapi-key", flavor: expect.stringContaining("psapi.small") });
    const host = String(shown["OS-EXT-SRV-ATTR:host"]);
    expect(mesh.nodes.map((x) => x.spec.name)).toContain(host);
    const owner = mesh.nodes.find((x) => x.spec.name === host)!;
    expect((await qemuPidsMentioning(join(owner.spec.dataDir, "instances", server.id))).length).toBe(1);

    await step(["server", "stop", "psapi-vm"]);
    await until<{ status: string }>("SHUTOFF", ["server", "show", "psapi-vm", "-f", "json"], (j) => j.status === "SHUTOFF");
    await step(["server", "start", "psapi-vm"]);
    await until<{ status: string }>("ACTIVE after start", ["server", "show", "psapi-vm", "-f", "json"], (j) => j.status === "ACTIVE");
    await step(["server", "reboot", "--wait", "psapi-vm"], { timeoutMs: 300_000 });
    await until<{ status: string }>("ACTIVE after reboot", ["server", "show", "psapi-vm", "-f", "json"], (j) => j.status === "ACTIVE");
    // The guest really runs: its ready marker on the console, read through whichever node is next.
    const tConsole = Date.now();
    for (;;) {
      const out = (await step(["console", "log", "show", "psapi-vm"])).stdout;
      if (out.includes("PEERSTACK-READY hostname=psapi-vm")) break;
      if (Date.now() - tConsole > 240_000) throw new Error(`no ready marker on the console of psapi-vm:\n${out.slice(-2000)}`);
      await sleep(2000);
    }

    const vol = (await step(["volume", "create", "--size", "1", "psapi-vol", "-f", "json"])).json();
    expect(vol).toMatchObject({ name: "psapi-vol", size: 1 });
    await until<{ status: string }>("volume available", ["volume", "show", "psapi-vol", "-f", "json"], (j) => j.status === "available");
    const vols = (await step(["volume", "list", "-f", "json"])).json() as { Name: string }[];
    expect(vols.map((v) => v.Name)).toContain("psapi-vol");
    await step(["server", "add", "volume", "psapi-vm", "psapi-vol"], { retryMs: 30_000 });
    await until<{ status: string }>("volume in-use", ["volume", "show", "psapi-vol", "-f", "json"], (j) => j.status === "in-use");
    const withVol = (await step(["server", "show", "psapi-vm", "-f", "json"])).json();
    expect(JSON.stringify(withVol.volumes_attached)).toContain(vol.id);
    await step(["server", "remove", "volume", "psapi-vm", "psapi-vol"]);
    await until<{ status: string }>("volume available again", ["volume", "show", "psapi-vol", "-f", "json"], (j) => j.status === "available");

    const quota = (await step(["quota", "show", "admin", "-f", "json"])).json();
    expect(quota.instances).toBeGreaterThan(0);
    expect(quota.instances).not.toBe(20);
    await step(["quota", "set", "--instances", "20", "admin"]);
    await until<{ instances: number }>("instances quota 20", ["quota", "show", "admin", "-f", "json"], (j) => j.instances === 20, 30_000);

    const hypervisors = (await step(["hypervisor", "list", "-f", "json"])).json() as { "Hypervisor Hostname": string; State: string }[];
    expect(hypervisors.map((h) => h["Hypervisor Hostname"]).sort()).toEqual(mesh.nodes.map((x) => x.spec.name).sort());
    expect(hypervisors.map((h) => h.State)).toEqual(["up", "up", "up"]);
    // psapi-vol moved to psapi-vm's host when attached: that host counts its gigabyte as used disk,
    // beside the server's 2 GB root disk (placement's DiskFilter sees the same figure).
    await until<{ local_gb_used: number }>("the volume counted on its host", ["--os-compute-api-version", "2.1", "hypervisor", "show", host, "-f", "json"], (j) => j.local_gb_used === 3, 30_000);
    const zones = (await step(["availability", "zone", "list", "-f", "json"])).json() as { "Zone Name": string; "Zone Status": string }[];
    expect(zones.find((z) => z["Zone Name"] === "nova")).toMatchObject({ "Zone Status": "available" });
    const group = (await step(["server", "group", "create", "--policy", "anti-affinity", "psapi-group", "-f", "json"])).json();
    expect(group).toMatchObject({ name: "psapi-group", policy: "anti-affinity" });

    // A group member, deleted with the CLI.
    const member = await step(["--os-compute-api-version", "2.37", "server", "create", "--flavor", "psapi.small", "--image", "psapi-image", "--nic", "none", "--hint", `group=${String(group.id)}`, "--wait", "psapi-vm2", "-f", "json"], { timeoutMs: 400_000 });
    expect(member.json()).toMatchObject({ name: "psapi-vm2", status: "ACTIVE" });
    await step(["server", "delete", "--wait", "psapi-vm2"], { timeoutMs: 300_000 });

    // The same delete through all three nodes at once (a retrying client, or both sides of a partition):
    // the quota comes back once, from the owner host, when it has removed the server.
    const tok = (await step(["token", "issue", "-f", "json"])).json() as { id: string; project_id: string };
    const usedBefore = await waitFor("only psapi-vm holds quota", async () => {
      const q = (await quotaTotals(mesh.nodes, tok.project_id)).instances;
      return q.usage === 1 ? q : undefined;
    }, 30_000, 500);
    expect(usedBefore).toMatchObject({ usage: 1, limit: 20, rights: 19 });
    const dels = await Promise.all(mesh.nodes.map((x) => fetch(`${x.httpUrl}/compute/v2.1/servers/${String(server.id)}`, { method: "DELETE", headers: { "x-auth-token": tok.id } })));
    expect(dels.map((r) => r.status)).toEqual([204, 204, 204]);
    await until<unknown[]>("server gone everywhere", ["server", "list", "-f", "json"], (j) => j.length === 0, 120_000);
    const usedAfter = await waitFor("instances quota back to 0 on every node", async () => {
      const q = (await quotaTotals(mesh.nodes, tok.project_id)).instances;
      return q.usage === 0 ? q : undefined;
    }, 30_000, 500).catch(async () => (await quotaTotals(mesh.nodes, tok.project_id)).instances);
    expect(usedAfter).toMatchObject({ usage: 0, limit: 20, rights: 20, negative: 0 }); // returned once: rights = limit, not limit + 2
    const tGone = Date.now();
    while ((await qemuPidsMentioning(mesh.dir)).length > 0) {
      if (Date.now() - tGone > 60_000) throw new Error("QEMU still running after server delete");
      await sleep(500);
    }
    // Every step ran on another node than the one before.
    expect(trail.every((s, i) => i === 0 || s.node !== trail[i - 1].node)).toBe(true);
    expect(new Set(trail.map((s) => s.node)).size).toBe(3);
    console.log(`CLI suite on the mesh: ${trail.length} CLI runs in ${Date.now() - t0} ms`);
  }, 1_500_000);
});
