import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ClockDriftError } from "./errors.ts";
import { compareHlc, formatHlc, Hlc, parseHlc, type HlcTimestamp } from "./hlc.ts";
import { ManualClock } from "./testing/manual-clock.ts";

describe("Hlc", () => {
  it("is strictly monotonic even when the wall clock stands still or goes back", () => {
    const clock = new ManualClock(1000);
    const hlc = new Hlc({ node: "a", clock });
    const seen: HlcTimestamp[] = [hlc.now(), hlc.now()];
    clock.set(500);
    seen.push(hlc.now());
    clock.set(2000);
    seen.push(hlc.now());
    for (let i = 1; i < seen.length; i++) expect(compareHlc(seen[i - 1], seen[i])).toBe(-1);
    expect(seen[3]).toEqual({ wallMs: 2000, counter: 0, node: "a" });
  });

  it("orders a received event after the remote one and after every local one", () => {
    const clock = new ManualClock(1000);
    const hlc = new Hlc({ node: "a", clock });
    const local = hlc.now();
    const remote = { wallMs: 1500, counter: 7, node: "b" };
    const merged = hlc.receive(remote);
    expect(compareHlc(merged, remote)).toBe(1);
    expect(compareHlc(merged, local)).toBe(1);
    expect(merged).toEqual({ wallMs: 1500, counter: 8, node: "a" });
  });

  it("refuses a remote timestamp beyond the drift limit, naming the sender", () => {
    const hlc = new Hlc({ node: "a", clock: new ManualClock(1000), maxDriftMs: 100 });
    expect(() => hlc.receive({ wallMs: 1201, counter: 0, node: "liar" })).toThrow(ClockDriftError);
    expect(() => hlc.receive({ wallMs: 1201, counter: 0, node: "liar" })).toThrow(/"liar" is 201 ms ahead/);
    expect(() => hlc.receive({ wallMs: 1100, counter: 0, node: "ok" })).not.toThrow();
  });

  it("text form round-trips and sorts like compareHlc", () => {
    const ts = fc.record({ wallMs: fc.integer({ min: 0, max: 2 ** 47 }), counter: fc.integer({ min: 0, max: 0xffffff }), node: fc.stringMatching(/^[a-z0-9]{0,8}$/) });
    fc.assert(
      fc.property(ts, ts, (a, b) => {
        expect(parseHlc(formatHlc(a))).toEqual(a);
        const byText = formatHlc(a) < formatHlc(b) ? -1 : formatHlc(a) > formatHlc(b) ? 1 : 0;
        if (a.node.length === b.node.length) expect(byText).toBe(compareHlc(a, b));
      }),
      { numRuns: 1000 },
    );
  });

  it("any interleaving of now/receive across nodes keeps each node monotonic", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: -5, max: 20 }), fc.boolean()), { maxLength: 200 }), (steps) => {
        const clocks = [new ManualClock(0), new ManualClock(3), new ManualClock(7)];
        const hlcs = clocks.map((clock, i) => new Hlc({ node: `n${i}`, clock, maxDriftMs: 1e9 }));
        const last = hlcs.map((h) => h.peek());
        for (const [who, dt, fromOther] of steps) {
          clocks[who].set(Math.max(0, clocks[who].now() + dt));
          const t = fromOther ? hlcs[who].receive(hlcs[(who + 1) % 3].peek()) : hlcs[who].now();
          expect(compareHlc(last[who], t)).toBe(-1);
          last[who] = t;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
