import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { openCrdtStore, type CrdtStore } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import type { QuotaAmounts } from "./limits.ts";
import { ownerRelease, quotaHolders } from "./owner-release.ts";

const holders = quotaHolders((f) => ({ instances: 1, cores: f.vcpus, ram: f.ram }));

async function twoNodes() {
  const clock = new ManualClock();
  const a = await openCrdtStore({ node: "a" }, { clock, kv: new MemoryKv() });
  const b = await openCrdtStore({ node: "b" }, { clock, kv: new MemoryKv() });
  // Every write of one store reaches the other, as the replicator does.
  const link = (from: CrdtStore, to: CrdtStore) => from.onChange(({ delta, local }) => void (local && to.applyRemote([delta])));
  link(a, b);
  link(b, a);
  const released: Record<string, Array<[string, QuotaAmounts]>> = { a: [], b: [] };
  const start = (self: "a" | "b", store: CrdtStore) =>
    ownerRelease({ self, store, kinds: holders, quota: { release: async (p, amounts) => void released[self].push([p, amounts]) } });
  return { a, b, released, start };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe("quota returned by the owner host", () => {
  it("a server deleted through two nodes returns its quota once, on the host that removes it", async () => {
    const t = await twoNodes();
    const ra = t.start("a", t.a);
    const rb = t.start("b", t.b);
    await t.b.put("server", "s1", { project_id: "p", flavor_id: "f", vcpus: 2, ram: 1024, disk: 1, host: null });
    await t.b.put("server", "s1", { host: "a" }); // placed on a by the auction b ran
    await settle();
    expect([ra.held(), rb.held()]).toEqual([1, 0]);
    // the DELETE taken by both nodes (as on both sides of a partition) writes desired; nothing returns yet
    await t.a.put("server", "s1", { desired: "deleted" });
    await t.b.put("server", "s1", { desired: "deleted" });
    await settle();
    expect(t.released).toEqual({ a: [], b: [] });
    await t.a.remove("server", "s1"); // a's reconciler, after teardown
    await settle();
    await Promise.all([ra.idle(), rb.idle()]);
    expect(t.released).toEqual({ a: [["p", { instances: 1, cores: 2, ram: 1024 }]], b: [] });
    expect([ra.held(), rb.held()]).toEqual([0, 0]);
  });

  it("a record nobody owns (never placed), or one another host removed, returns nothing here", async () => {
    const t = await twoNodes();
    t.start("a", t.a);
    t.start("b", t.b);
    await t.a.put("server", "err", { project_id: "p", vcpus: 1, ram: 512, status: "ERROR", host: null });
    await t.a.remove("server", "err");
    await t.b.put("volume", "v1", { project_id: "p", size: 3, host: "b" });
    await settle();
    await t.a.remove("volume", "v1"); // not a's: a's removal of b's volume is not a return of b's quota
    await settle();
    expect(t.released).toEqual({ a: [], b: [] });
  });

  it("follows size and host changes: an extended volume returns its new size; a moved one returns on its new host", async () => {
    const t = await twoNodes();
    const ra = t.start("a", t.a);
    t.start("b", t.b);
    await t.a.put("volume", "v1", { project_id: "p", size: 1, host: "a", status: "available" });
    await t.b.put("volume", "v1", { size: 5 }); // os-extend through b
    await t.b.put("volume", "v2", { project_id: "p", size: 2, host: "a" });
    await settle();
    await t.b.put("volume", "v2", { host: "b" }); // re-homed on attach
    await t.a.put("volume_snapshot", "s1", { project_id: "p", size: 5, host: "a", volume_id: "v1" });
    await settle();
    expect(ra.held()).toBe(2);
    await t.a.remove("volume_snapshot", "s1");
    await t.a.remove("volume", "v1");
    await t.b.remove("volume", "v2");
    await settle();
    expect(t.released.a).toEqual([["p", { snapshots: 1, gigabytes: 5 }], ["p", { volumes: 1, gigabytes: 5 }]]);
    expect(t.released.b).toEqual([["p", { volumes: 1, gigabytes: 2 }]]);
  });

  it("after a restart the host knows what its live records hold from the store", async () => {
    const t = await twoNodes();
    await t.a.put("server", "s1", { project_id: "p", vcpus: 1, ram: 512, host: "a" });
    const ra = t.start("a", t.a); // started after the record exists, as after a restart
    expect(ra.held()).toBe(1);
    ra.stop();
    const again = t.start("a", t.a);
    await t.a.remove("server", "s1");
    await settle();
    await again.idle();
    expect(t.released.a).toEqual([["p", { instances: 1, cores: 1, ram: 512 }]]);
  });

  it("a failing release is reported with the record it concerns and does not stop later ones", async () => {
    const clock = new ManualClock();
    const s = await openCrdtStore({ node: "a" }, { clock, kv: new MemoryKv() });
    const errors: string[] = [];
    const done: string[] = [];
    let fail = true;
    const r = ownerRelease({
      self: "a",
      store: s,
      kinds: holders,
      quota: { release: async () => { if (fail) { fail = false; throw new Error("disk on fire"); } } },
      onError: (kind, id, err) => errors.push(`${kind}/${id}: ${String(err)}`),
      onReleased: (kind, id) => done.push(`${kind}/${id}`),
    });
    await s.put("volume", "v1", { project_id: "p", size: 1, host: "a" });
    await s.put("volume", "v2", { project_id: "p", size: 1, host: "a" });
    await s.remove("volume", "v1");
    await s.remove("volume", "v2");
    await settle();
    await r.idle();
    expect(errors).toEqual(["volume/v1: Error: disk on fire"]);
    expect(done).toEqual(["volume/v2"]);
  });
});
