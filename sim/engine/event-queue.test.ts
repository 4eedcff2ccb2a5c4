// The two-tier event queue pops exactly in (time, scheduling order), across windows, with
// cancellations and with events pushed while it runs (never before the current time).
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../protocol/random.ts";
import { EventQueue, type SimEvent } from "./event-queue.ts";

describe("EventQueue", () => {
  it("matches a sorted reference over random pushes, pops and cancellations", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = new SeededRandom(seed);
      const q = new EventQueue();
      const all: Array<SimEvent & { id: number }> = [];
      let now = 1_767_225_600_000;
      let id = 0;
      const got: number[] = [];
      const push = () => {
        // mostly near (network), some far (timers), a few at exactly now
        const u = r.next();
        const at = u < 0.1 ? now : u < 0.8 ? now + r.next() * 30 : now + r.next() * 700_000;
        const n = id++;
        const ev = Object.assign(q.push(at, () => got.push(n)), { id: n });
        all.push(ev);
        if (r.next() < 0.2) ev.live = false;
      };
      for (let i = 0; i < 200; i++) push();
      for (let step = 0; step < 3000; step++) {
        const ev = q.pop();
        if (!ev) break;
        expect(ev.at).toBeGreaterThanOrEqual(now);
        now = ev.at;
        ev.fn();
        for (let k = r.int(3); k > 0; k--) push();
      }
      for (let ev = q.pop(); ev; ev = q.pop()) ev.fn();
      const expected = all.filter((e) => e.live).sort((a, b) => a.at - b.at || a.seq - b.seq).map((e) => e.id);
      expect(got).toEqual(expected);
      expect(q.size).toBe(0);
    }
  });
});
