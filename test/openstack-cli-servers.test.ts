// The real `openstack` CLI creating, showing, listing, stopping and deleting a server against a real HTTP
// listener (LevelDB catalog, Glance plugin), with the real placement service (quota escrow + auction over
// the in-memory mesh of 3 nodes, its virtual clock pumped in the background). No reconciler: BUILD + host.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachServerBackend } from "../api-gateway/compute/server-backend.ts";
import { imageService } from "../api-gateway/image/plugin.ts";
import { ADMIN_PASSWORD, testGateway, type TestGateway } from "../api-gateway/testing/fixture.ts";
import { openstack } from "./helpers/openstack-cli.ts";
import { placementMesh } from "../node/auction/testing.ts";
import { BlobStore } from "../node/images/blob-store.ts";
import { placementService } from "../node/placement-service.ts";
import { quotaEscrow, type QuotaEscrow } from "../node/quota/escrow.ts";
import { systemClock } from "../node/runtime/system.ts";
import { openCrdtStore } from "../node/store/crdt-store.ts";
import { LevelKv } from "../node/store/level-kv.ts";
import { MemoryKv } from "../node/store/memory-kv.ts";
import { SeededRandom } from "../protocol/random.ts";


describe("openstack CLI: servers through the real placement service", () => {
  let g: TestGateway;
  let dir: string;
  let url: string;
  let pumping = true;
  let pump: Promise<void>;
  const m = placementMesh({ nodes: 3, seed: 3 });
  const escrows: QuotaEscrow[] = [];
  let detach = () => {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "psapi-srv-"));
    const kv = await LevelKv.open(join(dir, "catalog"));
    g = await testGateway({ clock: systemClock, kv, extra: { services: { image: imageService({ blobs: new BlobStore(join(dir, "blobs")) }) } } });
    for (const [i, node] of m.nodes.entries()) {
      const hlc = (await openCrdtStore({ node: node.id }, { clock: m.clock, kv: new MemoryKv() })).hlc;
      const q = quotaEscrow({ timeoutMs: 300 })({ clock: m.clock, random: new SeededRandom(i + 1), transport: node.transport, hlc, kv: new MemoryKv() });
      await q.start();
      escrows.push(q);
    }
    detach = attachServerBackend(g.nodeKey.id, { placement: placementService()({ store: g.store, quota: escrows[0], requester: m.nodes[0].requester }), quota: escrows[0] });
    m.start();
    pump = (async () => {
      while (pumping) {
        await m.clock.run(5);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const project = g.store.list("project", (p) => p.name === "admin")[0].id;
    await escrows[0].initProject(project);
    await g.store.put("image", "0b8a1c3e-1111-4222-8333-944445555666", { name: "cirros", visibility: "public", status: "active", disk_format: "qcow2", container_format: "bare", size: 1, min_disk: 0, min_ram: 0, owner: project });
    url = await g.app.listen({ host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    pumping = false;
    await pump;
    detach();
    m.stop();
    for (const q of escrows) q.stop();
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const os = async (args: string[]): Promise<string> => (await openstack({ url, dir, password: ADMIN_PASSWORD }, args)).stdout;

  it("server create → BUILD with a port address, placed (host), list, stop refused while building, delete", async () => {
    await os(["network", "create", "private"]);
    await os(["subnet", "create", "--network", "private", "--subnet-range", "10.7.0.0/24", "s1"]);
    const created = JSON.parse(await os(["server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private", "vm1", "-f", "json"]));
    expect(created).toMatchObject({ name: "vm1", status: "BUILD" });
    expect(created.adminPass ?? "").toBe(""); // none: nothing would set it in the guest
    const id = created.id as string;
    for (let i = 0; i < 500 && typeof g.store.get("server", id)?.host !== "string"; i++) await new Promise((r) => setTimeout(r, 10));
    const host = g.store.get("server", id)!.host as string;
    expect(m.nodes.filter((n) => n.ledger.hasClaim(id)).map((n) => n.id)).toEqual([host]);
    const shown = JSON.parse(await os(["server", "show", "vm1", "-f", "json"]));
    expect(shown).toMatchObject({ id, status: "BUILD", "OS-EXT-SRV-ATTR:host": host, "OS-EXT-STS:task_state": "spawning", flavor: "m1.tiny (1)" });
    expect(shown.addresses.private[0]).toMatch(/^10\.7\.0\.\d+$/);
    const list = JSON.parse(await os(["server", "list", "-f", "json"]));
    expect(list.map((s: { ID: string; Status: string }) => [s.ID, s.Status])).toEqual([[id, "BUILD"]]);
    await expect(os(["server", "stop", "vm1"])).rejects.toThrow(`Cannot 'stop' instance ${id} while it is in vm_state building (HTTP 409)`);
    await os(["server", "delete", "vm1"]);
    expect(g.store.get("server", id)!.desired).toBe("deleted");
  }, 120_000);
});
