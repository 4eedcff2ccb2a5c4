import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as PN from "./pn-counter.ts";
import { checkConvergence, checkLaws, type CrdtModel } from "./testing-laws.ts";

type Op = { dir: "inc" | "dec"; n: number };
const model: CrdtModel<PN.PnCounter, Op> = {
  name: "pn-counter",
  empty: PN.empty,
  merge: PN.merge,
  op: fc.record({ dir: fc.constantFrom("inc" as const, "dec" as const), n: fc.integer({ min: 1, max: 50 }) }),
  apply: (s, node, op) => (op.dir === "inc" ? PN.increment(s, node, op.n) : PN.decrement(s, node, op.n)),
};

describe("pn-counter", () => {
  it("value = increments - decrements, across replicas", () => {
    const a = PN.increment(PN.empty(), "a", 5).state;
    const b = PN.decrement(PN.empty(), "b", 7);
    expect(b.delta).toEqual({ p: {}, n: { b: 7 } });
    expect(PN.value(PN.merge(a, b.state))).toBe(-2);
  });

  it("the value equals the sum of all applied ops after convergence", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 2 }), model.op), { maxLength: 30 }), (ops) => {
        const reps = [PN.empty(), PN.empty(), PN.empty()];
        let expected = 0;
        for (const [r, op] of ops) {
          reps[r] = model.apply(reps[r], `n${r}`, op)!.state;
          expected += op.dir === "inc" ? op.n : -op.n;
        }
        expect(PN.value(reps.reduce(PN.merge))).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("read validates wire data", () => {
    expect(PN.read({ p: { a: 1 }, n: {} }, "x")).toEqual({ p: { a: 1 }, n: {} });
    expect(() => PN.read({ p: { a: 1 } }, "x")).toThrow(/x\.n/);
  });

  it("merge laws (1000 runs each)", () => checkLaws(model));
  it("3-5 replicas converge under reordering, duplication and loss (1000 runs)", () => checkConvergence(model));
});
