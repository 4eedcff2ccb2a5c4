import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as B from "./bounded-counter.ts";
import { InsufficientRightsError, type BoundedCounter } from "./bounded-counter.ts";
import { checkConvergence, checkLaws, NODES, type CrdtModel } from "./testing-laws.ts";
import type { HlcTimestamp } from "../hlc.ts";

const at = (wallMs: number, node: string): HlcTimestamp => ({ wallMs, counter: 0, node });

function refusedIsNull<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof InsufficientRightsError) return undefined;
    throw e;
  }
}

type Op =
  | { kind: "consume" | "release" | "grant" | "pledge"; n: number }
  | { kind: "transfer"; to: number; n: number }
  | { kind: "settle" | "reconcile" }
  | { kind: "limit"; value: number; dt: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("consume" as const, "release" as const, "grant" as const, "pledge" as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("transfer" as const), to: fc.nat({ max: NODES.length - 1 }), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constantFrom("settle" as const, "reconcile" as const) }),
  fc.record({ kind: fc.constant("limit" as const), value: fc.nat({ max: 40 }), dt: fc.integer({ min: 1, max: 5 }) }),
);

function applyOp(s: BoundedCounter, node: string, op: Op): B.Step | undefined {
  switch (op.kind) {
    case "consume":
      return refusedIsNull(() => B.consume(s, node, op.n));
    case "release":
      return B.release(s, node, op.n);
    case "grant":
      return B.grant(s, node, op.n);
    case "pledge":
      return B.pledge(s, node, op.n);
    case "transfer":
      return NODES[op.to] === node ? undefined : refusedIsNull(() => B.transfer(s, node, NODES[op.to], op.n));
    case "settle":
      return B.settle(s, node);
    case "reconcile":
      return B.reconcileLimit(s, node);
    case "limit":
      // An HLC stamp above every stamp this replica has seen, as Hlc.now() after receive() gives.
      return B.setLimit(s, node, op.value, at((s.target?.t.wallMs ?? 0) + op.dt, node));
  }
}

const model: CrdtModel<BoundedCounter, Op> = { name: "bounded-counter", empty: B.empty, merge: B.merge, op: opArb, apply: applyOp };

describe("bounded counter: basics", () => {
  const start = B.setLimit(B.empty(), "a", 10, at(1, "a")).state;

  it("setLimit mints the limit at the admin's node", () => {
    expect(B.limit(start)).toBe(10);
    expect(B.rights(start, "a")).toBe(10);
    expect(B.rights(start, "b")).toBe(0);
  });

  it("consume spends own rights; beyond them throws InsufficientRightsError", () => {
    const s = B.consume(start, "a", 7).state;
    expect(B.rights(s, "a")).toBe(3);
    expect(B.usage(s)).toBe(7);
    expect(() => B.consume(s, "a", 4)).toThrow(InsufficientRightsError);
    expect(() => B.consume(s, "b", 1)).toThrow(/node "b" cannot consume 1: it holds 0 free rights/);
  });

  it("transfer moves only the sender's own rights", () => {
    const t = B.transfer(start, "a", "b", 4);
    expect(t.delta.transfers).toEqual({ a: { b: 4 } });
    expect(B.rights(t.state, "a")).toBe(6);
    expect(B.rights(t.state, "b")).toBe(4);
    expect(() => B.transfer(t.state, "b", "c", 5)).toThrow(InsufficientRightsError);
    expect(B.limit(t.state)).toBe(10);
  });

  it("release gives rights back to the deleting node", () => {
    const s = B.release(B.consume(start, "a", 10).state, "b", 3).state;
    expect(B.rights(s, "b")).toBe(3);
    expect(B.usage(s)).toBe(7);
    expect(B.consume(s, "b", 3).state).toBeDefined();
  });

  it("raising the limit mints the difference at the admin's node", () => {
    const s = B.setLimit(start, "b", 15, at(2, "b"));
    expect(s.delta.grants).toEqual({ b: 5 });
    expect(B.limit(s.state)).toBe(15);
  });

  it("lowering burns the admin node's free rights at once", () => {
    const s = B.setLimit(start, "a", 6, at(2, "a")).state;
    expect(B.limit(s)).toBe(6);
    expect(B.minted(s)).toBe(6);
    expect(B.totalDebt(s)).toBe(0);
  });

  it("lowering below what the admin node holds leaves a debt that blocks consumption until paid", () => {
    let s = B.transfer(start, "a", "b", 8).state; // a: 2, b: 8
    s = B.setLimit(s, "a", 5, at(2, "a")).state; // pledge 5, burn 2 -> debt 3
    expect(B.debt(s, "a")).toBe(3);
    expect(() => B.consume(s, "b", 1)).toThrow(/rights to burn first/);
    s = B.transfer(s, "b", "a", 3).state; // the escrow layer pays the debtor
    s = B.settle(s, "a")!.state;
    expect(B.totalDebt(s)).toBe(0);
    expect(B.minted(s)).toBe(5);
    expect(B.consume(s, "b", 5).state).toBeDefined();
    expect(() => B.consume(B.consume(s, "b", 5).state, "b", 1)).toThrow(InsufficientRightsError);
  });

  it("a debtor burns returned rights before anyone can consume", () => {
    let s = B.consume(start, "a", 10).state; // all used
    s = B.setLimit(s, "a", 4, at(2, "a")).state; // debt 6: usage 10 > limit 4
    expect(B.debt(s, "a")).toBe(6);
    s = B.release(s, "a", 5).state; // deletes through the debtor burn at once
    expect(B.debt(s, "a")).toBe(1);
    expect(B.rights(s, "a")).toBe(0);
    s = B.release(s, "a", 2).state;
    expect(B.totalDebt(s)).toBe(0);
    expect(B.usage(s)).toBe(3);
    expect(B.available(s, "a")).toBe(1);
  });

  it("concurrent limit changes: the later stamp wins once its writer reconciles", () => {
    const x = B.setLimit(start, "x", 20, at(5, "x")).state; // partition 1
    const y = B.setLimit(start, "y", 12, at(6, "y")).state; // partition 2, later stamp
    let s = B.merge(x, y);
    expect(B.limit(s)).toBe(22); // both adjustments applied: 10 + 10 + 2
    expect(B.reconcileLimit(s, "x")).toBeUndefined(); // x lost, does nothing
    s = B.reconcileLimit(s, "y")!.state;
    expect(B.limit(s)).toBe(12);
    // y pledged 10 but held only the 2 it had minted: it owes 8 and nobody consumes meanwhile
    expect(B.debt(s, "y")).toBe(8);
    expect(B.available(s, "x")).toBe(0);
    s = B.transfer(s, "x", "y", 8).state; // x holds the 10 it minted: the escrow layer pays y's debt
    s = B.settle(s, "y")!.state;
    expect(B.totalDebt(s)).toBe(0);
    expect(B.minted(s)).toBe(12);
    expect(B.rights(s, "a") + B.rights(s, "x") + B.rights(s, "y")).toBe(12);
  });

  it("rejects bad arguments", () => {
    expect(() => B.consume(start, "a", 0)).toThrow();
    expect(() => B.transfer(start, "a", "a", 1)).toThrow(TypeError);
    expect(() => B.setLimit(start, "a", -1, at(2, "a"))).toThrow(TypeError);
    expect(() => B.setLimit(start, "a", 5, at(2, "b"))).toThrow(TypeError);
  });

  it("read validates wire data and normalises it", () => {
    const s = B.transfer(start, "a", "b", 2).state;
    expect(B.read(JSON.parse(JSON.stringify(s)), "q")).toEqual(s);
    expect(() => B.read({ ...s, consumed: { a: -1 } }, "q")).toThrow(/q\.consumed\.a/);
    expect(() => B.read({ ...s, target: { value: 1 } }, "q")).toThrow(/q\.target\.t/);
    expect(B.read({ ...s, transfers: { a: { a: 5, b: 2 } } }, "q").transfers).toEqual({ a: { b: 2 } });
  });

  it("isAuthoredBy: a node's own deltas touch only its own rows", () => {
    const t = B.transfer(start, "a", "b", 2).delta;
    expect(B.isAuthoredBy(t, "a")).toBe(true);
    expect(B.isAuthoredBy(t, "b")).toBe(false);
    expect(B.isAuthoredBy(B.setLimit(start, "a", 3, at(2, "a")).delta, "a")).toBe(true);
    expect(B.isAuthoredBy(start, "b")).toBe(false);
  });
});

describe("bounded counter: laws", () => {
  it("merge laws (1000 runs each)", () => checkLaws(model));
  it("3-5 replicas converge under reordering, duplication and loss (1000 runs)", () => checkConvergence(model));
});
