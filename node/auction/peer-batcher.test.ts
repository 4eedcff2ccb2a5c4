import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryNetwork } from "../mesh/memory-transport.ts";
import { decode, encode } from "../mesh/wire.ts";
import { BATCH_PROTOCOL, readBatchAsk } from "./messages.ts";
import { BatchTimeoutError, peerBatcher } from "./peer-batcher.ts";

/** A peer that answers every operation with its body and position, and records each batch it got. */
function setup(o: { hang?: () => boolean } = {}) {
  const clock = new ManualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: 1 });
  const a = net.join("a");
  const b = net.join("b");
  const got: string[][] = [];
  b.handle(BATCH_PROTOCOL, async (_from, data) => {
    const ops = readBatchAsk(decode(data, ["auction.batch"]).body);
    got.push(ops.map((x) => `${x.op}:${String(x.body)}`));
    if (o.hang?.()) await new Promise(() => {});
    return encode("auction.batch", "b", { answers: ops.map((x, i) => (x.body === "bad" ? { ok: false, error: "malformed" } : { ok: true, body: `${String(x.body)}#${i}` })) });
  });
  const batcher = peerBatcher({ lazyMs: 10 })({ clock, transport: a });
  return { clock, net, batcher, got };
}

describe("peer batcher", () => {
  it("an idle peer gets an operation at once; operations issued together share one message", async () => {
    const t = setup();
    const one = t.batcher.send("b", "bid", "x", 100);
    await t.clock.run(3); // sent after the current task, 1 ms there and 1 ms back
    expect(await one).toBe("x#0");
    const many = ["p", "q", "r"].map((x) => t.batcher.send("b", "bid", x, 100));
    await t.clock.run(3);
    expect(await Promise.all(many)).toEqual(["p#0", "q#1", "r#2"]);
    expect(t.got).toEqual([["bid:x"], ["bid:p", "bid:q", "bid:r"]]);
    expect(t.batcher.stats).toEqual({ batches: 2, ops: 4 });
  });

  it("while a batch is in flight new operations queue and go as the next batch when it returns", async () => {
    const t = setup();
    const first = t.batcher.send("b", "award", "a1", 100);
    await t.clock.run(1); // in flight, not answered yet
    const queued = [t.batcher.send("b", "bid", "b1", 100), t.batcher.send("b", "bid", "b2", 100)];
    await t.clock.run(1);
    expect(t.got).toEqual([["award:a1"]]);
    await t.clock.run(3);
    expect([await first, ...(await Promise.all(queued))]).toEqual(["a1#0", "b1#0", "b2#1"]);
    expect(t.got).toEqual([["award:a1"], ["bid:b1", "bid:b2"]]);
  });

  it("a lazy release waits for an eager operation to ride with, or goes alone after lazyMs", async () => {
    const t = setup();
    const alone = t.batcher.send("b", "release", "r1", 100, { lazy: true });
    await t.clock.run(9);
    expect(t.got).toEqual([]);
    await t.clock.run(4);
    expect(await alone).toBe("r1#0");
    const rides = t.batcher.send("b", "release", "r2", 100, { lazy: true });
    await t.clock.run(3);
    const bid = t.batcher.send("b", "bid", "b1", 100);
    await t.clock.run(3);
    expect([await rides, await bid]).toEqual(["r2#0", "b1#1"]);
    expect(t.got).toEqual([["release:r1"], ["release:r2", "bid:b1"]]);
  });

  it("an operation's own failure fails only it; a silent peer fails every operation at its timeout", async () => {
    let hang = false;
    const t = setup({ hang: () => hang });
    const ok = t.batcher.send("b", "bid", "fine", 100);
    const bad = t.batcher.send("b", "bid", "bad", 100);
    await t.clock.run(3);
    expect(await ok).toBe("fine#0");
    await expect(bad).rejects.toThrow("malformed");
    hang = true;
    const lost = t.batcher.send("b", "award", "a1", 50);
    await t.clock.run(1);
    const behind = t.batcher.send("b", "bid", "b1", 20); // queued behind the hung batch
    const late = expect(behind).rejects.toBeInstanceOf(BatchTimeoutError);
    await t.clock.run(25);
    await late;
    await expect(behind).rejects.toThrow('auction bid to peer "b": not sent before its deadline');
    const lostCheck = expect(lost).rejects.toThrow();
    await t.clock.run(30);
    await lostCheck;
    expect(t.got).toEqual([["bid:fine", "bid:bad"], ["award:a1"]]); // the timed-out bid was never sent
    hang = false;
    const after = t.batcher.send("b", "bid", "again", 100);
    await t.clock.run(3);
    expect(await after).toBe("again#0");
  });
});
