import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { openCrdtStore, type CrdtStore } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { REPLICATE_PROTOCOL, writeAcks } from "./acks.ts";
import { MemoryNetwork } from "./memory-transport.ts";
import { decode } from "./wire.ts";

/** n nodes with stores and write acks; `pushes` records, per receiving node, the deltas of each push it got. */
async function setup(n: number, acks: number) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, latencyMs: 2 });
  const stores: CrdtStore[] = [];
  const pushes = new Map<string, number[]>();
  const ackers = [];
  for (let i = 0; i < n; i++) {
    const id = `n${i}`;
    const t = net.join(id);
    const store = await openCrdtStore({ node: id }, { clock, kv: new MemoryKv() });
    const a = writeAcks({ acks, timeoutMs: 100 })({ transport: t, store });
    a.start();
    // Count what arrives, then hand it to the real handler.
    const handler = (t as unknown as { handlers: Map<string, (f: string, d: Uint8Array) => Promise<Uint8Array>> }).handlers.get(REPLICATE_PROTOCOL)!;
    t.handle(REPLICATE_PROTOCOL, async (from, data) => {
      pushes.set(id, [...(pushes.get(id) ?? []), decode<{ deltas: unknown[] }>(data).body.deltas.length]);
      return handler(from, data);
    });
    stores.push(store);
    ackers.push(a);
  }
  return { clock, net, stores, ackers, pushes };
}

describe("write acks", () => {
  it("pushes a write to `acks` peers plus one spare, not to every peer", async () => {
    const t = await setup(6, 1);
    const d = await t.stores[0]!.put("server", "s1", { v: 1 });
    const r = t.ackers[0]!.replicate([d]);
    await t.clock.run(10);
    const res = await r;
    expect(res).toMatchObject({ wanted: 1, alone: false });
    expect(res.acked).toBeGreaterThanOrEqual(1);
    expect([...t.pushes.values()].flat()).toEqual([1, 1]);
    const holders = t.stores.filter((s) => s.get("server", "s1"));
    expect(holders.length).toBe(3); // the writer and the two it pushed to (gossip would bring the rest)
  });

  it("writes made while a push to a peer is in flight go to it together in the next push", async () => {
    const t = await setup(3, 2);
    const first = t.ackers[0]!.replicate([await t.stores[0]!.put("server", "a", { v: 1 })]);
    const more = [];
    for (let i = 0; i < 20; i++) more.push(t.ackers[0]!.replicate([await t.stores[0]!.put("server", `b${i}`, { v: i })]));
    await t.clock.run(20);
    expect(await first).toMatchObject({ acked: 2 });
    for (const r of await Promise.all(more)) expect(r).toMatchObject({ wanted: 2, acked: 2 });
    // Each of the 2 peers: the first write alone, then the 20 others in one push.
    expect(t.pushes.get("n1")).toEqual([1, 20]);
    expect(t.pushes.get("n2")).toEqual([1, 20]);
    expect(t.stores[2]!.list("server")).toHaveLength(21);
  });

  it("falls back to the next peers when the first ones do not answer, and says how many acked", async () => {
    const t = await setup(5, 2);
    t.net.setLink("n0", "n1", false);
    t.net.setLink("n0", "n2", false); // reachable() is false: peers() leaves them out
    const d = await t.stores[0]!.put("server", "s", { v: 1 });
    const r = t.ackers[0]!.replicate([d]);
    await t.clock.run(10);
    expect(await r).toEqual({ wanted: 2, acked: 2, alone: false });
    // Silent peers (handler gone): every reachable peer is tried, fewer acks than wanted are reported.
    for (const id of ["n3", "n4"]) t.net.leave(id);
    t.net.heal();
    const r2 = t.ackers[0]!.replicate([await t.stores[0]!.put("server", "s", { v: 2 })], 3);
    await t.clock.run(300);
    expect(await r2).toEqual({ wanted: 3, acked: 2, alone: false });
  });
});
