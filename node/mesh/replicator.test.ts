import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { openCrdtStore, type CrdtStore } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { writeAcks } from "./acks.ts";
import { MemoryNetwork } from "./memory-transport.ts";
import { CATALOG_TOPIC, replicator, type Replicator } from "./replicator.ts";
import { encode } from "./wire.ts";

interface SimNode {
  id: string;
  store: CrdtStore;
  rep: Replicator;
}

async function mesh(n: number, opts: { antiEntropyMs?: number; batchStates?: number } = {}) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, latencyMs: 2 });
  const random = new SeededRandom(7);
  const nodes: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const id = `n${i}`;
    const transport = net.join(id);
    const store = await openCrdtStore({ node: id, buckets: 16 }, { clock, kv: new MemoryKv() });
    const rep = replicator({ antiEntropyMs: opts.antiEntropyMs ?? 1000, batchStates: opts.batchStates })({ clock, random: random.fork(id), transport, store });
    nodes.push({ id, store, rep });
  }
  // Start after every node joined, so the peer watcher sees them all as newcomers only once.
  for (const node of nodes) node.rep.start();
  return { clock, net, nodes };
}

const digestOf = (s: CrdtStore) => JSON.stringify(s.digest());

describe("replicator over the in-memory transport", () => {
  it("gossips a local write to every node", async () => {
    const { clock, nodes } = await mesh(4);
    await clock.run(300, 10);
    await nodes[0].store.put("server", "s1", { name: "web" });
    await clock.run(50, 1);
    for (const node of nodes) expect(node.store.get("server", "s1")?.name).toBe("web");
    expect(nodes[1].rep.stats().deltasApplied).toBe(1);
  });

  it("heals a 2|3 partition with writes on both sides through anti-entropy alone", async () => {
    const { clock, net, nodes } = await mesh(5, { antiEntropyMs: 500 });
    await clock.run(300, 10);
    net.partition(["n0", "n1"], ["n2", "n3", "n4"]);
    for (let i = 0; i < 40; i++) await nodes[i % 2].store.put("server", `a${i}`, { side: "A", i });
    for (let i = 0; i < 60; i++) await nodes[2 + (i % 3)].store.put("server", `b${i}`, { side: "B", i });
    await nodes[0].store.put("flavor", "f", { ram: 1 });
    await nodes[3].store.put("flavor", "f", { ram: 2 });
    await clock.run(200, 5);
    expect(nodes[0].store.get("server", "b0")).toBeUndefined();
    expect(digestOf(nodes[0].store)).not.toBe(digestOf(nodes[4].store));
    net.heal();
    await clock.run(5000, 20);
    const d = digestOf(nodes[0].store);
    for (const node of nodes) {
      expect(digestOf(node.store)).toBe(d);
      expect(node.store.list("server")).toHaveLength(100);
      expect(node.store.get("flavor", "f")?.ram).toBe(2); // the later write wins everywhere
    }
    expect(nodes.reduce((a, n) => a + n.rep.stats().aeStatesIn, 0)).toBeGreaterThan(0);
  });

  it("catches up a node that missed everything, in several batches", async () => {
    const { clock, net, nodes } = await mesh(2, { antiEntropyMs: 100_000, batchStates: 50 });
    net.partition(["n0"], ["n1"]);
    for (let i = 0; i < 500; i++) await nodes[0].store.put("port", `p${i}`, { i });
    await clock.run(10, 1);
    expect(nodes[1].store.list("port")).toHaveLength(0);
    net.heal();
    const received = nodes[1].rep.antiEntropy("n0");
    await clock.run(500, 1);
    expect(await received).toBe(500);
    expect(digestOf(nodes[1].store)).toBe(digestOf(nodes[0].store));
  });

  it("drops a gossiped delta stamped by another node and counts it", async () => {
    const { clock, net, nodes } = await mesh(3);
    await clock.run(100, 10);
    const forged = { kind: "user", id: "admin", fields: { role: { v: "admin", t: { wallMs: clock.now(), counter: 0, node: "n2" } } } };
    await net.node("n0")!.publish(CATALOG_TOPIC, encode("catalog.deltas", "n0", { deltas: [forged] }));
    await clock.run(20, 1);
    expect(nodes[1].store.get("user", "admin")).toBeUndefined();
    expect(nodes[1].rep.stats().forgedDropped).toBe(1);
    expect(nodes[1].rep.stats().forgedByPath.gossip).toBe(1);
  });

  // The attacker is a real node whose own store was tampered with: its anti-entropy hands the
  // tampered states over, as initiator (served side checks) and as responder (requester side checks).
  async function tamperedPeer(clock: ManualClock, net: MemoryNetwork, states: Array<{ kind: string; id: string; field: string; author: string }>) {
    const store = await openCrdtStore({ node: "evil", buckets: 16 }, { clock, kv: new MemoryKv() });
    await store.applyRemote(states.map((s, i) => ({ kind: s.kind, id: s.id, fields: { [s.field]: { v: "evil", t: { wallMs: clock.now() + 1000, counter: i, node: s.author } } } })));
    const rep = replicator({ antiEntropyMs: 100_000, peerWatchMs: 100_000 })({ clock, random: new SeededRandom(9), transport: net.join("evil"), store });
    rep.start();
    return { store, rep };
  }

  for (const side of ["requester", "server"] as const) {
    it(`anti-entropy (${side} side): a register stamped as the receiver, or as a connected author, is not taken from a relay; the sender's own and a gone author's are`, async () => {
      const { clock, net, nodes } = await mesh(3, { antiEntropyMs: 100_000 });
      await clock.run(300, 10);
      net.partition(["n0", "n1", "evil"], ["n2"]); // n2 is gone for n1: its registers heal through relays
      const evil = await tamperedPeer(clock, net, [
        { kind: "role_assignment", id: "as-n1", field: "role", author: "n1" },
        { kind: "role_assignment", id: "as-n0", field: "role", author: "n0" },
        { kind: "note", id: "own", field: "x", author: "evil" },
        { kind: "note", id: "gone-author", field: "x", author: "n2" },
      ]);
      await clock.run(300, 10);
      const done = side === "requester" ? nodes[1].rep.antiEntropy("evil") : evil.rep.antiEntropy("n1");
      await clock.run(200, 5);
      await done;
      const n1 = nodes[1];
      expect(n1.store.get("role_assignment", "as-n1")).toBeUndefined();
      expect(n1.store.get("role_assignment", "as-n0")).toBeUndefined();
      expect(n1.store.get("note", "own")?.x).toBe("evil");
      expect(n1.store.get("note", "gone-author")?.x).toBe("evil");
      // At least once: n1's peer watcher also runs a round with the newcomer.
      expect(n1.rep.stats().forgedByPath["anti-entropy"]).toBeGreaterThanOrEqual(1);
      expect(n1.rep.stats().relayDeferred).toBeGreaterThanOrEqual(1);
      expect(n1.rep.stats().forgedByPath.gossip).toBe(0);
    });
  }

  it("anti-entropy keeps a relay's registers that change nothing, and strips only the refused ones of a state", async () => {
    const { clock, net, nodes } = await mesh(2, { antiEntropyMs: 100_000 });
    await clock.run(300, 10);
    await nodes[1].store.put("server", "s", { name: "web" });
    await clock.run(50, 1);
    const store = await openCrdtStore({ node: "evil", buckets: 16 }, { clock, kv: new MemoryKv() });
    await store.applyRemote([nodes[1].store.stateOf("server", "s")!]);
    await store.put("server", "s", { note: "from evil" });
    await store.applyRemote([{ kind: "server", id: "s", fields: { name: { v: "owned", t: { wallMs: clock.now() + 1000, counter: 0, node: "n1" } } } }]);
    replicator({ antiEntropyMs: 100_000, peerWatchMs: 100_000 })({ clock, random: new SeededRandom(9), transport: net.join("evil"), store }).start();
    const done = nodes[1].rep.antiEntropy("evil");
    await clock.run(200, 5);
    await done;
    expect(nodes[1].store.get("server", "s")).toMatchObject({ name: "web", note: "from evil" });
    expect(nodes[1].rep.stats().forgedByPath["anti-entropy"]).toBeGreaterThanOrEqual(1);
  });

  it("accepts a higher minor version and refuses a higher major without crashing", async () => {
    const { clock, net, nodes } = await mesh(2);
    await clock.run(100, 10);
    const delta = (id: string) => ({ kind: "k", id, fields: { x: { v: 1, t: { wallMs: clock.now(), counter: 0, node: "n0" } } } });
    await net.node("n0")!.publish(CATALOG_TOPIC, encode("catalog.deltas", "n0", { deltas: [delta("minor")], extra: "from the future" }, undefined, "1.7"));
    await net.node("n0")!.publish(CATALOG_TOPIC, encode("catalog.deltas", "n0", { deltas: [delta("major")] }, undefined, "2.0"));
    await clock.run(20, 1);
    expect(nodes[1].store.get("k", "minor")).toBeDefined();
    expect(nodes[1].store.get("k", "major")).toBeUndefined();
    expect(nodes[1].rep.stats().versionRefused).toBe(1);
  });

  it("write acks: waits for a peer, reports being alone when no peer is reachable", async () => {
    const { clock, net, nodes } = await mesh(3);
    const acks = nodes.map((n) => writeAcks({ acks: 2, timeoutMs: 500 })({ transport: net.node(n.id)!, store: n.store }));
    for (const a of acks) a.start();
    const delta = await nodes[0].store.put("server", "s", { v: 1 });
    const res = acks[0].replicate([delta]);
    await clock.run(20, 1);
    expect(await res).toEqual({ wanted: 2, acked: 2, alone: false });
    net.partition(["n0"], ["n1", "n2"]);
    const d2 = await nodes[0].store.put("server", "s", { v: 2 });
    expect(await acks[0].replicate([d2])).toEqual({ wanted: 2, acked: 0, alone: true });
    // A delta pushed by n0 but stamped by n1 is refused by the receiver.
    net.heal();
    const forged = { kind: "server", id: "s", fields: { v: { v: 9, t: { wallMs: clock.now() + 1, counter: 0, node: "n1" } } } };
    const r3 = acks[0].replicate([forged], 1);
    await clock.run(20, 1);
    expect((await r3).acked).toBe(0);
    expect(acks[2].stats().forgedDropped).toBe(1);
    expect(nodes[2].store.get("server", "s")?.v).not.toBe(9);
  });
});
