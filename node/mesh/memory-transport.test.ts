import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryNetwork } from "./memory-transport.ts";
import { PeerUnreachableError } from "./transport.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("MemoryTransport", () => {
  it("delivers gossip to every reachable subscriber after the latency", async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, latencyMs: 5 });
    const [a, b, c] = ["a", "b", "c"].map((id) => net.join(id));
    const got: string[] = [];
    b.subscribe("t", (m) => got.push(`b:${m.from}:${dec(m.data)}`));
    c.subscribe("t", (m) => got.push(`c:${m.from}:${dec(m.data)}`));
    net.partition(["a", "b"], ["c"]);
    await a.publish("t", enc("x"));
    clock.advance(4);
    expect(got).toEqual([]);
    clock.advance(1);
    expect(got).toEqual(["b:a:x"]);
  });

  it("answers requests, and times out across a cut link", async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, latencyMs: 1 });
    const a = net.join("a");
    const b = net.join("b");
    b.handle("/echo", async (from, data) => enc(`${from}:${dec(data)}`));
    const answer = a.request("b", "/echo", enc("hi"));
    await clock.run(2);
    expect(dec(await answer)).toBe("a:hi");
    net.setLink("a", "b", false);
    const lost = a.request("b", "/echo", enc("hi"), { timeoutMs: 50 });
    await clock.run(50);
    await expect(lost).rejects.toBeInstanceOf(PeerUnreachableError);
  });
});
