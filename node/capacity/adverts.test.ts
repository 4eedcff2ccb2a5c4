import { describe, expect, it } from "vitest";
import { request } from "../../protocol/placement/testing.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryNetwork } from "../mesh/memory-transport.ts";
import { encode } from "../mesh/wire.ts";
import { advertiser, ADVERT_TYPE, CAPACITY_TOPIC, nextSeq, SEQ_PER_MS } from "./adverts.ts";
import { Ledger } from "./ledger.ts";
import { CapacityView } from "./view.ts";

function mesh(n: number, start = 0) {
  const clock = new ManualClock(start);
  const net = new MemoryNetwork({ clock, latencyMs: 5 });
  const random = new SeededRandom(7);
  const nodes = Array.from({ length: n }, (_, i) => {
    const id = `n${i}`;
    const transport = net.join(id);
    const ledger = new Ledger({ node: id, total: { vcpus: 4, ramMb: 8192, diskGb: 100 } });
    const view = new CapacityView(id, clock);
    const adv = advertiser({ intervalMs: 1000, coalesceMs: 50 })({ clock, random: random.fork(id), transport, ledger, view });
    return { id, transport, ledger, view, adv };
  });
  return { clock, net, nodes };
}

describe("capacity adverts", () => {
  it("every node learns every other's capacity, and changes arrive coalesced", async () => {
    const { clock, net, nodes } = mesh(3);
    for (const n of nodes) n.adv.start();
    await clock.run(20);
    expect(nodes[0].view.size).toBe(3);
    const before = net.messages;
    const l = nodes[1].ledger;
    for (let i = 0; i < 5; i++) l.hold(request(`s${i}`), 1, clock.now(), 10_000);
    await clock.run(100);
    expect(net.messages - before).toBe(2); // five changes, one advert to the two others
    expect(nodes[0].view.get("n1")?.state.used.vcpus).toBe(5);
    expect(nodes[1].view.get("n1")?.state.used.vcpus).toBe(5); // own view is exact at once
    for (const n of nodes) n.adv.stop();
  });

  it("ages entries, ignores old seqs, drops adverts claiming another node's identity", async () => {
    const { clock, net, nodes } = mesh(2);
    nodes[0].adv.start();
    nodes[1].adv.start();
    await clock.run(20);
    nodes[1].adv.stop();
    await clock.run(5000);
    expect(nodes[0].view.ageMs("n1")).toBeGreaterThanOrEqual(5000);
    expect(nodes[0].view.fresh(3000).map((h) => h.node)).toEqual(["n0"]);
    const forged = nodes[1].ledger.state();
    forged.node = "n0";
    await net.node("n1")!.publish(CAPACITY_TOPIC, encode(ADVERT_TYPE, "n1", { seq: 99, state: forged }));
    await clock.run(20);
    expect(nodes[0].view.get("n0")?.seq).not.toBe(99);
    expect(nodes[0].view.learn(nodes[1].ledger.state(), 0)).toBe(false);
    nodes[0].adv.stop();
  });

  it("samples distinct fresh hosts", () => {
    const clock = new ManualClock(0);
    const view = new CapacityView("a", clock);
    for (let i = 0; i < 100; i++) view.learn(new Ledger({ node: `h${i}`, total: { vcpus: 1, ramMb: 1, diskGb: 1 } }).state(), 1);
    const s = view.sample(10, 1000, new SeededRandom(1));
    expect(s).toHaveLength(10);
    expect(new Set(s.map((h) => h.node)).size).toBe(10);
    view.forget("h5");
    expect(view.size).toBe(99);
    expect(view.sample(200, 1000, new SeededRandom(1))).toHaveLength(99);
  });

  // Regression (found by the simulator's swarm as capacity-view-stale): seq restarted at 1 with the
  // agent, and peers ignored the restarted host until its new seq passed the old one.
  it("regression: a restarted advertiser's adverts are accepted", async () => {
    const { clock, net, nodes } = mesh(2, 1_700_000_000_000);
    const [a, b] = nodes;
    a.adv.start();
    b.adv.start();
    for (let i = 0; i < 20; i++) {
      b.ledger.hold(request(`s${i}`), 1, clock.now(), 600_000);
      await clock.run(100); // one coalesced advert per change: b's seq climbs well past 1
    }
    const before = a.view.get("n1")!.seq;
    expect(a.view.get("n1")?.state.used.vcpus).toBeGreaterThan(0);
    b.adv.stop();
    await clock.run(3000); // the agent is down for 3 s; its holds are gone with it
    const ledger = new Ledger({ node: "n1", total: { vcpus: 4, ramMb: 8192, diskGb: 100 } });
    const view = new CapacityView("n1", clock);
    const again = advertiser({ intervalMs: 1000, coalesceMs: 50 })({ clock, random: new SeededRandom(9), transport: b.transport, ledger, view });
    again.start();
    await clock.run(20);
    expect(again.seq).toBeGreaterThan(before);
    expect(a.view.get("n1")?.seq).toBe(again.seq);
    expect(a.view.get("n1")?.state.used.vcpus).toBe(0); // the restarted host's empty ledger, not the old state
    again.stop();
    a.adv.stop();
    void net;
  });

  it("seq follows the clock and stays strictly increasing when the clock steps back", () => {
    expect(nextSeq(0, 5)).toBe(5 * SEQ_PER_MS);
    expect(nextSeq(5 * SEQ_PER_MS, 5)).toBe(5 * SEQ_PER_MS + 1); // two adverts in one ms
    expect(nextSeq(5 * SEQ_PER_MS + 1, 3)).toBe(5 * SEQ_PER_MS + 2); // clock stepped back 2 ms
    expect(nextSeq(0, 0)).toBe(1);
    expect(Number.isSafeInteger(nextSeq(0, 4_102_444_800_000))).toBe(true); // year 2100
  });

  it("skips a change advert whose state equals the last one sent, but still refreshes periodically", async () => {
    const { clock, net, nodes } = mesh(2);
    for (const n of nodes) n.adv.start();
    await clock.run(20);
    const [a, b] = nodes;
    const sent = b.adv.published;
    const seq = a.view.get("n1")!.seq;
    // a losing bidder: hold, then released within the coalescing window — nothing to tell
    b.ledger.hold(request("loser", { group: { id: "g1", policy: "anti-affinity" } }), 1, clock.now(), 10_000);
    await clock.run(10);
    b.ledger.release("loser", 1);
    await clock.run(100);
    expect(b.adv.published).toBe(sent);
    expect(a.view.get("n1")!.seq).toBe(seq);
    // a real change is still sent
    b.ledger.hold(request("winner"), 1, clock.now(), 10_000);
    await clock.run(100);
    expect(b.adv.published).toBe(sent + 1);
    expect(a.view.get("n1")!.state.used.vcpus).toBeGreaterThan(0);
    // the periodic refresh goes out with an unchanged state (liveness; peers age entries by it)
    const before = net.messages;
    await clock.run(1300);
    expect(b.adv.published).toBeGreaterThanOrEqual(sent + 2);
    expect(net.messages).toBeGreaterThan(before);
    expect(a.view.ageMs("n1")).toBeLessThan(1300);
    for (const n of nodes) n.adv.stop();
  });

  it("a change advert restarts the refresh interval (no refresh right after it, one within 1.2 × interval)", async () => {
    const { clock, nodes } = mesh(2);
    for (const n of nodes) n.adv.start();
    await clock.run(700); // somewhere inside b's first refresh interval (0.8–1.2 s)
    const [a, b] = nodes;
    const sent = b.adv.published;
    b.ledger.hold(request("w1"), 1, clock.now(), 60_000);
    await clock.run(60); // the coalesced change advert goes out
    expect(b.adv.published).toBe(sent + 1);
    const changeAt = clock.now();
    await clock.run(700); // the old cadence would have refreshed by now (first interval ended ≤ 1.2 s)
    expect(b.adv.published).toBe(sent + 1);
    while (b.adv.published === sent + 1) await clock.run(10);
    const gap = clock.now() - changeAt;
    expect(gap).toBeGreaterThanOrEqual(800 - 60);
    expect(gap).toBeLessThanOrEqual(1200 + 10);
    expect(a.view.get("n1")!.seq).toBe(b.adv.seq);
    for (const n of nodes) n.adv.stop();
  });
});
