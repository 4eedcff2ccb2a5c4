// POST /servers through the real placement service: quota escrow (node/quota) and the auction over the
// in-memory mesh transport (node/mesh/memory-transport.ts via node/auction/testing.ts). No reconciler here,
// so a placed server stays BUILD with its host set.
import { afterEach, describe, expect, it } from "vitest";
import { placementMesh } from "../../node/auction/testing.ts";
import { placementService } from "../../node/placement-service.ts";
import { quotaEscrow, type QuotaEscrow } from "../../node/quota/escrow.ts";
import { ownerRelease, quotaHolders } from "../../node/quota/owner-release.ts";
import { openCrdtStore } from "../../node/store/crdt-store.ts";
import { MemoryKv } from "../../node/store/memory-kv.ts";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { testGateway, type TestGateway } from "../testing/fixture.ts";
import { attachServerBackend } from "./server-backend.ts";

describe("servers API over the real placement service (3 nodes, memory transport)", () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });

  it("create → BUILD record → host set by the auction; No valid host → ERROR with fault, quota returned; quota exceeded → 403", async () => {
    const m = placementMesh({ nodes: 3, seed: 11 });
    const g: TestGateway = await testGateway({ clock: m.clock });
    cleanup.push(() => g.close());
    const escrows: QuotaEscrow[] = [];
    for (const [i, node] of m.nodes.entries()) {
      // the escrow stamps with the mesh node id; the gateway store (node key id) holds the catalog
      const hlc = (await openCrdtStore({ node: node.id }, { clock: m.clock, kv: new MemoryKv() })).hlc;
      const q = quotaEscrow({ timeoutMs: 300 })({ clock: m.clock, random: new SeededRandom(i + 1), transport: node.transport, hlc, kv: new MemoryKv() });
      await q.start();
      escrows.push(q);
    }
    const placement = placementService()({ store: g.store, quota: escrows[0], requester: m.nodes[0].requester });
    cleanup.push(async () => {
      m.stop();
      for (const q of escrows) q.stop();
    });
    const detach = attachServerBackend(g.nodeKey.id, { placement, quota: escrows[0] });
    cleanup.push(async () => detach());
    const admin = await g.token();
    const project = g.store.list("project", (p) => p.name === "admin")[0].id;
    await g.store.put("image", "img1", { name: "cirros", visibility: "public", status: "active" });
    await g.store.put("flavor", "huge", { name: "huge", vcpus: 2, ram: 65536, disk: 10, ephemeral: 0, swap: 0, is_public: true, extra_specs: {} });
    m.start();
    await m.clock.run(10);
    await escrows[0].initProject(project, { instances: 2, cores: 40, ram: 500_000 });
    await m.clock.run(10);

    const boot = async (name: string, flavorRef: string) => {
      // real async work (token signature check) and virtual time (quota transfers) interleave: yield to the
      // event loop between clock steps instead of running the virtual clock ahead in microtasks
      let done = false;
      const res = g.app.inject({ method: "POST", url: "/compute/v2.1/servers", headers: { "x-auth-token": admin }, payload: { server: { name, flavorRef, imageRef: "img1", networks: "none" } } }).finally(() => (done = true));
      for (let t = 0; !done && t < 10_000; t++) {
        await new Promise((r) => setImmediate(r));
        await m.clock.run(1);
      }
      return res;
    };
    const show = async (id: string) => (await g.app.inject({ url: `/compute/v2.1/servers/${id}`, headers: { "x-auth-token": admin } })).json().server;
    const instancesUsed = () => bc.usage(escrows.map((q) => q.counter(project, "instances")).reduce(bc.merge, bc.empty()));

    // No valid host: 64 GiB RAM fits no host (16 GiB each); the API answered 202 before the auction ended
    const huge = await boot("huge", "huge");
    expect(huge.statusCode).toBe(202);
    const hugeId = huge.json().server.id;
    await m.clock.run(3000);
    const failed = await show(hugeId);
    expect(failed.status).toBe("ERROR");
    expect(failed.fault).toMatchObject({ code: 500 });
    expect(failed.fault.message).toMatch(/^No valid host was found/);
    expect(instancesUsed()).toBe(0); // returned by placement

    // two placements fill the instances quota of 2
    const ids: string[] = [];
    for (const name of ["a", "b"]) {
      const r = await boot(name, "1");
      expect(r.statusCode).toBe(202);
      const id = r.json().server.id;
      ids.push(id);
      const rec = g.store.get("server", id)!;
      expect(rec.status).toBe("BUILD");
    }
    expect(g.store.get("server", ids[1])!.host).toBeNull(); // still scheduling when 202 was sent
    await m.clock.run(3000);
    for (const id of ids) {
      const s = await show(id);
      expect(s.status).toBe("BUILD");
      const host = g.store.get("server", id)!.host as string;
      expect(m.nodes.map((n) => n.id)).toContain(host);
      expect(s["OS-EXT-SRV-ATTR:host"]).toBe(host);
      expect(s["OS-EXT-STS:task_state"]).toBe("spawning");
      expect(m.nodes.filter((n) => n.ledger.hasClaim(id)).map((n) => n.id)).toEqual([host]);
    }
    expect(instancesUsed()).toBe(2);

    const over = await boot("c", "1");
    expect(over.statusCode).toBe(403);
    expect(over.json().forbidden.message).toMatch(/^Quota exceeded for instances: Requested 1, but already used 2 of 2 instances/);
    expect(g.store.list("server", (s) => s.name === "c")).toEqual([]);

    // delete writes desired deleted; the quota comes back when the owner host removes the record, then c fits
    const del = await g.app.inject({ method: "DELETE", url: `/compute/v2.1/servers/${ids[0]}`, headers: { "x-auth-token": admin } });
    expect(del.statusCode).toBe(204);
    const owned = g.store.get("server", ids[0])!;
    expect(owned.desired).toBe("deleted");
    expect(instancesUsed()).toBe(2);
    const owner = m.nodes.findIndex((n) => n.id === owned.host);
    const returns = ownerRelease({ self: String(owned.host), store: g.store, quota: escrows[owner], kinds: quotaHolders(placement.quotaOf) });
    cleanup.push(async () => returns.stop());
    await g.store.remove("server", ids[0]); // what the owner's reconciler does after teardown
    await returns.idle();
    await m.clock.run(10);
    expect(instancesUsed()).toBe(1);
    expect((await boot("c", "1")).statusCode).toBe(202);
  }, 60_000);
});
