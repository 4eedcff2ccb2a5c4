// The simulated network and gossip model: a flood reaches every member, lazy gossip repairs loss,
// partitions cut and heal, requests time out across a partition, and delivery order is reproducible.
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../protocol/random.ts";
import { SimScheduler } from "../engine/sim-clock.ts";
import { GossipRouter } from "./gossip.ts";
import { SimNetwork } from "./network.ts";
import { SimMesh } from "./sim-transport.ts";
import { PeerUnreachableError } from "../../node/mesh/transport.ts";

function mesh(n: number, seed = 1) {
  const sched = new SimScheduler();
  const net = new SimNetwork({ lan: { kind: "uniform", minMs: 1, maxMs: 3 }, wan: { kind: "const", ms: 20 }, random: new SeededRandom(seed).fork("net"), sched });
  const m = new SimMesh(net, new GossipRouter(net, new SeededRandom(seed).fork("gossip")), "t");
  const transports = Array.from({ length: n }, (_, i) => m.join(net.addNode(`n${i}`, i % 2 === 0 ? "a" : "b")));
  const got: string[][] = transports.map(() => []);
  transports.forEach((t, i) => t.subscribe("t", (msg) => got[i].push(new TextDecoder().decode(msg.data))));
  return { sched, net, transports, got };
}

describe("simulated network", () => {
  it("floods a publish to every member once, in under 10 hops of latency", async () => {
    const { sched, transports, got } = mesh(200);
    await transports[0].publish("t", new TextEncoder().encode("hello"));
    await sched.runUntil(sched.now() + 1000);
    expect(got.slice(1).every((g) => g.length === 1 && g[0] === "hello")).toBe(true);
    expect(got[0]).toEqual([]);
  });

  it("repairs 30 % loss through lazy gossip", async () => {
    const { sched, net, transports, got } = mesh(200, 3);
    net.faults = { loss: 0.3, duplicate: 0, reorder: 0, reorderMs: 0 };
    await transports[0].publish("t", new TextEncoder().encode("x"));
    await sched.runUntil(sched.now() + 100);
    const early = got.filter((g) => g.length > 0).length;
    await sched.runUntil(sched.now() + 3000);
    const late = got.filter((g) => g.length > 0).length;
    expect(late).toBeGreaterThan(early);
    expect(late).toBe(199);
  });

  it("cuts gossip and requests across a partition and carries them again after heal", async () => {
    const { sched, net, transports, got } = mesh(20);
    net.partition((n) => n.azIndex);
    transports[1].handle("p", async () => new Uint8Array([1]));
    await transports[0].publish("t", new TextEncoder().encode("cut"));
    const failed = transports[0].request("n1", "p", new Uint8Array(), { timeoutMs: 100 }).catch((e: unknown) => e);
    await sched.runUntil(sched.now() + 5000);
    expect(await failed).toBeInstanceOf(PeerUnreachableError);
    expect(got.filter((g, i) => i % 2 === 1 && g.length > 0)).toEqual([]);
    expect(got.filter((g, i) => i % 2 === 0 && i > 0).every((g) => g.length === 1)).toBe(true);
    net.heal();
    const answer = transports[0].request("n1", "p", new Uint8Array(), { timeoutMs: 100 });
    await sched.runUntil(sched.now() + 1000);
    expect(await answer).toEqual(new Uint8Array([1]));
  });

  it("replays the same deliveries for the same seed", async () => {
    const run = async () => {
      const { sched, net, transports, got } = mesh(50, 9);
      net.faults = { loss: 0.1, duplicate: 0.1, reorder: 0.3, reorderMs: 10 };
      for (let i = 0; i < 10; i++) await transports[i].publish("t", new TextEncoder().encode(`m${i}`));
      await sched.runUntil(sched.now() + 5000);
      return JSON.stringify({ got, counts: [...net.counts] });
    };
    expect(await run()).toBe(await run());
  });
});
