import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as G from "./g-counter.ts";
import { InvalidAmountError, InvalidNodeIdError } from "./vector.ts";
import { checkConvergence, checkLaws, type CrdtModel } from "./testing-laws.ts";

const model: CrdtModel<G.GCounter, number> = {
  name: "g-counter",
  empty: G.empty,
  merge: G.merge,
  op: fc.integer({ min: 1, max: 100 }),
  apply: (s, node, n) => G.increment(s, node, n),
};

describe("g-counter", () => {
  it("increments sum across nodes; the delta is the node's new entry", () => {
    let s = G.empty();
    s = G.increment(s, "a", 2).state;
    const { state, delta } = G.increment(s, "a", 3);
    expect(delta).toEqual({ a: 5 });
    expect(G.value(G.merge(state, G.increment(G.empty(), "b", 4).state))).toBe(9);
  });

  it("rejects non-positive, fractional and unsafe amounts and bad node ids", () => {
    for (const n of [0, -1, 1.5, NaN, 2 ** 53]) expect(() => G.increment(G.empty(), "a", n)).toThrow(InvalidAmountError);
    for (const node of ["", "__proto__", "x".repeat(200)]) expect(() => G.increment(G.empty(), node)).toThrow(InvalidNodeIdError);
  });

  it("read validates wire data", () => {
    expect(G.read({ a: 3, b: 0 }, "c")).toEqual({ a: 3 });
    expect(() => G.read({ a: -1 }, "c")).toThrow(/c\.a/);
    expect(() => G.read({ a: 1.5 }, "c")).toThrow();
    expect(() => G.read([1], "c")).toThrow();
  });

  it("merge laws (1000 runs each)", () => checkLaws(model));
  it("3-5 replicas converge under reordering, duplication and loss (1000 runs)", () => checkConvergence(model));
});
