import { describe, expect, it } from "vitest";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { Hlc } from "../../protocol/hlc.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryNetwork } from "../mesh/memory-transport.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { QUOTA_TOPIC, quotaEscrow, type QuotaEscrow } from "./escrow.ts";
import { QuotaExceededError } from "./limits.ts";

async function mesh(n: number, init: Parameters<typeof quotaEscrow>[0] = {}) {
  const clock = new ManualClock(1_000_000);
  const net = new MemoryNetwork({ clock, latencyMs: 2 });
  const random = new SeededRandom(3);
  const kvs = new Map<string, MemoryKv>();
  const make = (id: string, transport = net.node(id) ?? net.join(id)) => {
    const kv = kvs.get(id) ?? new MemoryKv();
    kvs.set(id, kv);
    return quotaEscrow({ timeoutMs: 200, ...init })({ clock, random: random.fork(id), transport, hlc: new Hlc({ node: id, clock }), kv });
  };
  const nodes: QuotaEscrow[] = [];
  for (let i = 0; i < n; i++) nodes.push(make(`q${i}`));
  for (const e of nodes) await e.start();
  const settle = async <T>(ps: Promise<T>[]) => {
    let done = false;
    const all = Promise.allSettled(ps).then((r) => ((done = true), r));
    while (!done) await clock.run(5, 1);
    return all;
  };
  const merged = (project: string, resource: "instances" | "cores") => nodes.map((e) => e.counter(project, resource)).reduce(bc.merge, bc.empty());
  return { clock, net, nodes, settle, merged, make };
}

/** Sum of every node's rights + usage = limit (rights are conserved). */
function conserved(s: bc.BoundedCounter, ids: string[]): number {
  return ids.reduce((t, id) => t + bc.rights(s, id), 0) + bc.usage(s);
}

describe("quota escrow", () => {
  it("with reserves, every node soon holds a share of the rights: a node cut off later still creates, within the limit", async () => {
    const m = await mesh(4, { reserveMs: 1000 });
    await m.nodes[0].initProject("p", { instances: 12, cores: 40 });
    await m.clock.run(10);
    expect(m.nodes.map((e) => e.rights("p", "instances"))).toEqual([12, 0, 0, 0]);
    await m.clock.run(3000);
    const shares = m.nodes.map((e) => e.rights("p", "instances"));
    expect(shares.slice(1).every((r) => r >= 1)).toBe(true); // a quarter of an even split each (12 / 4 / 4 = 0 -> 1)
    expect(shares[0]).toBeGreaterThanOrEqual(6); // the minter keeps most
    expect(shares.reduce((a, b) => a + b, 0)).toBe(12);
    const asked = m.nodes.map((e) => e.stats.transfersAsked);
    await m.clock.run(5000);
    expect(m.nodes.map((e) => e.stats.transfersAsked)).toEqual(asked); // holding a share, nobody asks again
    m.net.partition(["q0", "q1", "q2"], ["q3"]);
    const [cut] = await m.settle([m.nodes[3].take("p", { instances: 1, cores: 1 })]);
    expect(cut.status).toBe("fulfilled");
    const [over] = await m.settle([m.nodes[3].take("p", { instances: 12, cores: 1 })]);
    expect((over as PromiseRejectedResult).reason).toBeInstanceOf(QuotaExceededError);
    m.net.heal();
    await m.clock.run(50);
    const s = m.merged("p", "instances");
    expect(conserved(s, ["q0", "q1", "q2", "q3"])).toBe(12);
    expect(bc.usage(s)).toBe(1);
    for (const e of m.nodes) e.stop();
  });

  it("rights move to where they are spent, and are conserved", async () => {
    const m = await mesh(4);
    await m.nodes[0].initProject("p", { instances: 10, cores: 20 });
    await m.clock.run(10);
    const [r] = await m.settle([m.nodes[3].take("p", { instances: 1, cores: 4 })]);
    expect(r.status).toBe("fulfilled");
    expect(m.nodes[3].stats.transfersAsked).toBeGreaterThan(0);
    await m.clock.run(20);
    const s = m.merged("p", "cores");
    expect(bc.usage(s)).toBe(4);
    expect(conserved(s, ["q0", "q1", "q2", "q3"])).toBe(20);
    expect(conserved(m.merged("p", "instances"), ["q0", "q1", "q2", "q3"])).toBe(10);
  });

  it("concurrent takes on every node: exactly the limit succeeds, the rest QuotaExceeded, nothing partial", async () => {
    const m = await mesh(5);
    await m.nodes[0].initProject("p", { instances: 10, cores: 20 });
    await m.clock.run(10);
    const takes = Array.from({ length: 30 }, (_, i) => m.nodes[i % 5].take("p", { instances: 1, cores: 1 }));
    const rs = await m.settle(takes);
    expect(rs.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    for (const r of rs) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(QuotaExceededError);
    await m.clock.run(50);
    expect(bc.usage(m.merged("p", "instances"))).toBe(10);
    expect(bc.usage(m.merged("p", "cores"))).toBe(10); // cores were not spent for the refused ones
    expect(conserved(m.merged("p", "cores"), ["q0", "q1", "q2", "q3", "q4"])).toBe(20);
  });

  it("release gives rights back to the deleting node", async () => {
    const m = await mesh(2);
    await m.nodes[0].initProject("p", { instances: 1 });
    await m.nodes[0].take("p", { instances: 1 });
    await expect(m.settle([m.nodes[1].take("p", { instances: 1 })]).then((r) => r[0].status)).resolves.toBe("rejected");
    await m.nodes[1].release("p", { instances: 1 }); // the server was deleted through q1
    expect(m.nodes[1].rights("p", "instances")).toBe(1);
    await m.nodes[1].take("p", { instances: 1 });
  });

  it("a 2|3 partition with creates on both sides never exceeds the quota", async () => {
    const m = await mesh(5);
    await m.nodes[0].initProject("p", { instances: 10 });
    await m.clock.run(10);
    // some rights spread before the split
    await m.settle([m.nodes[3].take("p", { instances: 1 }), m.nodes[4].take("p", { instances: 1 })]);
    m.net.partition(["q0", "q1"], ["q2", "q3", "q4"]);
    const rs = await m.settle(Array.from({ length: 40 }, (_, i) => m.nodes[i % 5].take("p", { instances: 1 })));
    const ok = rs.filter((r) => r.status === "fulfilled").length;
    expect(ok + 2).toBeLessThanOrEqual(10);
    m.net.heal();
    await m.clock.run(50);
    const s = m.merged("p", "instances"); // the join of every replica: the truth after convergence
    expect(bc.usage(s)).toBe(ok + 2);
    expect(bc.usage(s)).toBeLessThanOrEqual(10);
    expect(conserved(s, ["q0", "q1", "q2", "q3", "q4"])).toBe(10);
  });

  it("lowering a limit re-balances: debts are paid from other nodes' spare rights", async () => {
    const m = await mesh(3);
    await m.nodes[0].initProject("p", { instances: 10 });
    await m.clock.run(10);
    await m.settle([m.nodes[1].take("p", { instances: 2 })]); // q1 now holds spare rights too
    await m.clock.run(10);
    await m.nodes[2].setLimit("p", "instances", 4);
    await m.clock.run(100);
    const s = m.merged("p", "instances");
    expect(bc.limit(s)).toBe(4);
    expect(bc.totalDebt(s)).toBe(0);
    expect(conserved(s, ["q0", "q1", "q2"])).toBe(4);
    const rs = await m.settle(Array.from({ length: 5 }, (_, i) => m.nodes[i % 3].take("p", { instances: 1 })));
    expect(rs.filter((r) => r.status === "fulfilled")).toHaveLength(2);
  });

  it("consumption survives a restart (durable before use)", async () => {
    const m = await mesh(1);
    await m.nodes[0].initProject("p", { instances: 3 });
    await m.nodes[0].take("p", { instances: 2 });
    m.nodes[0].stop();
    const again = m.make("q0");
    await again.start();
    expect(again.rights("p", "instances")).toBe(1);
    await expect(again.take("p", { instances: 2 })).rejects.toThrow(/Quota exceeded for instances: Requested 2, but already used 2 of 3/);
  });

  it("topic option: deltas go only to that topic's subscribers, one message per take; transfers still cross topics", async () => {
    const clock = new ManualClock(1_000_000);
    const net = new MemoryNetwork({ clock, latencyMs: 2 });
    const random = new SeededRandom(7);
    const make = (id: string, topic: string) => quotaEscrow({ timeoutMs: 200, topic })({ clock, random: random.fork(id), transport: net.join(id), hlc: new Hlc({ node: id, clock }) });
    const a = [make("a0", "peerstack/quota/siteA/1"), make("a1", "peerstack/quota/siteA/1")];
    const b = make("b0", "peerstack/quota/siteB/1");
    for (const e of [...a, b]) await e.start();
    const seen = new Map<string, number>();
    const watcher = net.join("w0");
    for (const t of ["peerstack/quota/siteA/1", "peerstack/quota/siteB/1", QUOTA_TOPIC]) watcher.subscribe(t, () => seen.set(t, (seen.get(t) ?? 0) + 1));
    await a[0].initProject("p", { instances: 10, cores: 20 });
    await clock.run(10);
    // a1 learnt the limit by its site topic, b0 did not
    expect(a[1].counter("p", "cores").grants).toEqual({ a0: 20 });
    expect(b.counter("p", "cores").grants).toEqual({});
    seen.clear();
    await a[0].take("p", { instances: 1, cores: 4 });
    await clock.run(10);
    expect(seen.get("peerstack/quota/siteA/1")).toBe(1); // instances + cores in one message
    expect(seen.get("peerstack/quota/siteB/1")).toBeUndefined();
    expect(seen.get(QUOTA_TOPIC)).toBeUndefined();
    expect(bc.usage(a[1].counter("p", "cores"))).toBe(4);
    expect(bc.usage(a[1].counter("p", "instances"))).toBe(1);
    // a node of another site still gets rights by transfer (direct), from a peer that holds them
    let done = false;
    const t = b.take("p", { instances: 1, cores: 2 }).then(() => (done = true));
    while (!done) await clock.run(5, 1);
    await t;
    expect(b.rights("p", "cores")).toBeGreaterThanOrEqual(0);
    expect(bc.usage(b.counter("p", "cores"))).toBe(6);
  });

  it("a forged batched delta (rows of another node) is dropped", async () => {
    const m = await mesh(2);
    await m.nodes[0].initProject("p", { instances: 5 });
    await m.clock.run(10);
    const forger = m.net.join("evil");
    const { encode } = await import("../mesh/wire.ts");
    const grant = bc.grant(bc.empty(), "q1", 100).delta;
    await forger.publish(QUOTA_TOPIC, encode("quota.deltas", "evil", { deltas: [{ key: "p/instances", delta: grant }] }));
    await m.clock.run(10);
    expect(m.nodes[1].rights("p", "instances")).toBe(0);
  });
});
