import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as S from "./or-set.ts";
import { checkConvergence, checkLaws, type CrdtModel } from "./testing-laws.ts";

type Op = { kind: "add" | "remove"; e: string };
const model: CrdtModel<S.OrSet, Op> = {
  name: "or-set",
  empty: S.empty,
  merge: S.merge,
  op: fc.record({ kind: fc.constantFrom("add" as const, "remove" as const), e: fc.constantFrom("a", "b", "c", "d") }),
  apply: (s, node, op) => (op.kind === "add" ? S.add(s, node, op.e) : S.remove(s, op.e)),
};

describe("or-set", () => {
  it("add then remove removes; re-add brings it back", () => {
    let s = S.add(S.empty(), "n1", "x").state;
    expect(S.has(s, "x")).toBe(true);
    s = S.remove(s, "x").state;
    expect(S.values(s)).toEqual([]);
    s = S.add(s, "n1", "x").state;
    expect(S.values(s)).toEqual(["x"]);
  });

  it("an add concurrent with a remove wins", () => {
    const base = S.add(S.empty(), "n1", "x").state;
    const removed = S.remove(base, "x").state; // at n1
    const readded = S.add(base, "n2", "x").state; // at n2, concurrently
    expect(S.values(S.merge(removed, readded))).toEqual(["x"]);
    expect(S.values(S.merge(readded, removed))).toEqual(["x"]);
  });

  it("a remove that observed the add wins over the delivered add delta", () => {
    const a = S.add(S.empty(), "n1", "x");
    const r = S.remove(a.state, "x");
    // n2 receives the remove delta before the add delta
    const n2 = S.merge(S.merge(S.empty(), r.delta), a.delta);
    expect(S.values(n2)).toEqual([]);
  });

  it("the context stays compact: many adds at one node fold into the version vector", () => {
    let s = S.empty();
    for (let i = 0; i < 50; i++) s = S.add(s, "n1", `e${i % 5}`).state;
    expect(s.ctx).toEqual({ vv: { n1: 50 }, cloud: [] });
    expect(s.entries.every(([, dots]) => dots.length === 1)).toBe(true);
  });

  it("an add's delta carries the element's superseded dots", () => {
    const s = S.add(S.add(S.empty(), "n1", "x").state, "n2", "x");
    expect(s.delta.entries).toEqual([["x", [["n2", 1]]]]);
    expect(s.delta.ctx.vv).toEqual({ n1: 1, n2: 1 });
    expect(s.state.entries).toEqual([["x", [["n2", 1]]]]);
  });

  it("the set equals a sequential model when there is one replica", () => {
    fc.assert(
      fc.property(fc.array(model.op, { maxLength: 40 }), (ops) => {
        let s = S.empty();
        const ref = new Set<string>();
        for (const op of ops) {
          s = model.apply(s, "n0", op)!.state;
          if (op.kind === "add") ref.add(op.e);
          else ref.delete(op.e);
        }
        expect(S.values(s)).toEqual([...ref].sort());
      }),
      { numRuns: 300 },
    );
  });

  it("read validates and normalises wire data", () => {
    const s = S.add(S.add(S.empty(), "n1", "b").state, "n1", "a").state;
    expect(S.read(JSON.parse(JSON.stringify(s)), "set")).toEqual(s);
    expect(() => S.read({ entries: [["x", [["n9", 1]]]], ctx: { vv: {}, cloud: [] } }, "set")).toThrow(/not in the context/);
    expect(() => S.read({ entries: [["x", []]], ctx: { vv: {}, cloud: [] } }, "set")).toThrow();
    expect(() => S.read({ entries: [], ctx: { vv: { n1: -1 }, cloud: [] } }, "set")).toThrow();
  });

  it("merge laws (1000 runs each)", () => checkLaws(model));
  it("3-5 replicas converge under reordering, duplication and loss (1000 runs)", () => checkConvergence(model));
});
