import { describe, expect, it } from "vitest";
import * as bc from "../protocol/crdt/bounded-counter.ts";
import { limits } from "../protocol/placement/index.ts";
import { SeededRandom } from "../protocol/random.ts";
import { placementMesh } from "./auction/testing.ts";
import type { Requester } from "./auction/requester.ts";
import { placementService, type CreateServerRequest, type PlacementService } from "./placement-service.ts";
import { quotaEscrow, type QuotaEscrow } from "./quota/escrow.ts";
import { QuotaExceededError } from "./quota/limits.ts";
import { openCrdtStore, type CrdtStore } from "./store/crdt-store.ts";
import { MemoryKv } from "./store/memory-kv.ts";

const flavors = [
  { id: "m1.tiny", vcpus: 1, ram: 512, disk: 1 },
  { id: "m1.small", vcpus: 1, ram: 2048, disk: 20 },
  { id: "m1.medium", vcpus: 2, ram: 4096, disk: 40 },
  { id: "m1.large", vcpus: 4, ram: 8192, disk: 80 },
];

async function cloud(n: number) {
  const m = placementMesh({ nodes: n, seed: 9 });
  const hosts: { store: CrdtStore; quota: QuotaEscrow; service: PlacementService }[] = [];
  for (const node of m.nodes) {
    const store = await openCrdtStore({ node: node.id }, { clock: m.clock, kv: new MemoryKv() });
    const quota = quotaEscrow({ timeoutMs: 300 })({ clock: m.clock, random: new SeededRandom(node.id.length), transport: node.transport, hlc: store.hlc, kv: new MemoryKv() });
    await quota.start();
    hosts.push({ store, quota, service: placementService()({ store, quota, requester: node.requester }) });
  }
  m.start();
  await m.clock.run(10);
  const create = (i: number, req: Partial<CreateServerRequest> & { id: string }) =>
    hosts[i % n].service.createServer({ project: "p", name: req.id, flavor: flavors[0], ...req }).then((c) => c.placed);
  return { ...m, hosts, create };
}

function conserved(cs: bc.BoundedCounter[], ids: string[]): number {
  const s = cs.reduce(bc.merge, bc.empty());
  return ids.reduce((t, id) => t + bc.rights(s, id), 0) + bc.usage(s);
}

describe("placement service", () => {
  // Acceptance: 5 nodes, 1,000 concurrent creates over every front node, mixed flavors, until capacity
  // runs out: no host over capacity x ratio, each placed server claimed by exactly one host, the rest
  // ERROR "No valid host was found", quota returned for them and conserved overall.
  it("1,000 concurrent creates on 5 nodes: placed ones on one host each, the rest NoValidHost, quota conserved", async () => {
    const c = await cloud(5);
    await c.hosts[0].quota.initProject("p", { instances: 1200, cores: 4000, ram: 10_000_000 });
    await c.clock.run(10);
    const rs = await c.settle(Array.from({ length: 1000 }, (_, i) => c.create(i, { id: `s${i}`, flavor: flavors[i % 4] })), 120_000);
    await c.clock.run(6000);
    const records = rs.map((r) => (r as PromiseFulfilledResult<Record<string, unknown>>).value);
    expect(rs.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
    const placed = records.filter((r) => typeof r.host === "string");
    const failed = records.filter((r) => r.status === "ERROR");
    expect(placed.length + failed.length).toBe(1000);
    expect(placed.length).toBeGreaterThan(20);
    for (const r of failed) expect((r.fault as { message: string }).message).toMatch(/^No valid host was found/);
    for (const n of c.nodes) {
      const cap = limits(n.ledger.state());
      const u = n.ledger.usage();
      expect(u.vcpus <= cap.vcpus && u.ramMb <= cap.ramMb && u.diskGb <= cap.diskGb).toBe(true);
    }
    for (const r of placed) {
      const claimers = c.nodes.filter((n) => n.ledger.hasClaim(r.id as string)).map((n) => n.id);
      expect(claimers).toEqual([r.host]);
    }
    expect(c.nodes.reduce((t, n) => t + n.ledger.claimsList().length, 0)).toBe(placed.length);
    const ids = c.nodes.map((n) => n.id);
    const inst = c.hosts.map((h) => h.quota.counter("p", "instances"));
    expect(bc.usage(inst.reduce(bc.merge, bc.empty()))).toBe(placed.length);
    expect(conserved(inst, ids)).toBe(1200);
    expect(conserved(c.hosts.map((h) => h.quota.counter("p", "cores")), ids)).toBe(4000);
    console.log(`service: placed ${placed.length}, ERROR ${failed.length}`);
    c.stop();
  }, 120_000);

  it("quota exceeded: nothing is written", async () => {
    const c = await cloud(3);
    await c.hosts[0].quota.initProject("p", { instances: 1, cores: 20, ram: 51200 });
    await c.clock.run(10);
    await c.settle([c.create(0, { id: "a" })]);
    const [r] = await c.settle([c.create(1, { id: "b" })]);
    expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QuotaExceededError);
    expect(c.hosts[1].store.get("server", "b")).toBeUndefined();
    c.stop();
  });

  it("a 2|3 partition with one project's creates on both sides stays within its quota", async () => {
    const c = await cloud(5);
    await c.hosts[0].quota.initProject("p", { instances: 10, cores: 20, ram: 51200 });
    await c.clock.run(10);
    await c.settle([c.create(3, { id: "pre-3" }), c.create(4, { id: "pre-4" })]); // rights on both sides
    c.net.partition(["n0000", "n0001"], ["n0002", "n0003", "n0004"]);
    await c.clock.run(3000);
    const rs = await c.settle(Array.from({ length: 30 }, (_, i) => c.create(i, { id: `x${i}` })), 60_000);
    const placed = rs.filter((r) => r.status === "fulfilled" && typeof r.value.host === "string").length;
    c.net.heal();
    await c.clock.run(100);
    const usage = bc.usage(c.hosts.map((h) => h.quota.counter("p", "instances")).reduce(bc.merge, bc.empty()));
    expect(usage).toBe(placed + 2);
    expect(usage).toBeLessThanOrEqual(10);
    c.stop();
  });

  it("group and hints resolve through the store: different_host avoids the named server's host", async () => {
    const c = await cloud(3);
    await c.hosts[0].quota.initProject("p");
    await c.clock.run(10);
    const [a] = await c.settle([c.create(0, { id: "a" })]);
    const hostA = (a as PromiseFulfilledResult<Record<string, unknown>>).value.host;
    const [b] = await c.settle([c.create(0, { id: "b", hints: { different_host: ["a"] } })]);
    expect((b as PromiseFulfilledResult<Record<string, unknown>>).value.host).not.toBe(hostA);
    const [s] = await c.settle([c.create(0, { id: "s", hints: { same_host: ["a"] } })]);
    expect((s as PromiseFulfilledResult<Record<string, unknown>>).value.host).toBe(hostA);
    c.stop();
  });
  it("a placement that hangs past the deadline fails: ERROR, quota returned, a late answer ignored", async () => {
    const c = await cloud(3);
    const h = c.hosts[0];
    await h.quota.initProject("p", { instances: 5, cores: 20, ram: 51200 });
    let finish: (v: { host: string; attempt: number }) => void = () => {};
    const hung = { place: () => new Promise<{ host: string; attempt: number }>((r) => (finish = r)), stats: c.nodes[0].requester.stats } as unknown as Requester;
    const svc = placementService()({ store: h.store, quota: h.quota, requester: hung, self: "n0000", clock: c.clock, placeTimeoutMs: 5_000 });
    const created = await svc.createServer({ id: "stuck", project: "p", name: "stuck", flavor: flavors[0] });
    expect(bc.usage(h.quota.counter("p", "instances"))).toBe(1);
    await c.clock.run(6_000);
    const rec = await created.placed;
    expect(rec).toMatchObject({ status: "ERROR", host: null });
    expect((rec.fault as { message: string }).message).toMatch(/^No valid host was found\. .*did not finish in 5000 ms/);
    expect(bc.usage(h.quota.counter("p", "instances"))).toBe(0);
    finish({ host: "n0001", attempt: 1 }); // the auction ends after all: the record stays failed
    await c.clock.run(100);
    expect(h.store.get("server", "stuck")).toMatchObject({ status: "ERROR", host: null });
    c.stop();
  });
});
