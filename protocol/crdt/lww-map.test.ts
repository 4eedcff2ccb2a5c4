import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareHlc, type HlcTimestamp } from "../hlc.ts";
import {
  canPurge,
  emptyRecord,
  isLive,
  merge,
  normalize,
  removeRecord,
  sameState,
  setFields,
  toRecord,
  versionOf,
  type RecordDelta,
  type RecordState,
} from "./lww-map.ts";

const RUNS = 1000;
const ts = (wallMs: number, counter = 0, node = "a"): HlcTimestamp => ({ wallMs, counter, node });

// Small domains so stamps, fields and tombstones collide often.
const stampArb = fc.record({ wallMs: fc.integer({ min: 0, max: 6 }), counter: fc.integer({ min: 0, max: 2 }), node: fc.constantFrom("a", "b", "c") });
const valueArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom("x", "y", null), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }));
const fieldsArb = fc.dictionary(fc.constantFrom("name", "status", "host", "size"), fc.record({ v: valueArb, t: stampArb }), { maxKeys: 4 });
// Raw states, deliberately not always in normal form (a peer's delta need not be).
const stateArb: fc.Arbitrary<RecordState> = fc
  .record({ fields: fieldsArb, deleted: fc.option(stampArb, { nil: undefined }) })
  .map(({ fields, deleted }) => (deleted ? { kind: "vm", id: "r1", fields, deleted } : { kind: "vm", id: "r1", fields }));

// Merge results are compared as they are (they must come out normal); raw inputs through normalize.
const eq = (a: RecordState, b: RecordState) => sameState(a, b);
const isNormal = (s: RecordState) => Object.values(s.fields).every((f) => !s.deleted || compareHlc(f.t, s.deleted) > 0);

describe("lww-map laws", () => {
  it("merge is commutative", () => {
    fc.assert(fc.property(stateArb, stateArb, (a, b) => eq(merge(a, b), merge(b, a))), { numRuns: RUNS });
  });

  it("merge is associative", () => {
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (a, b, c) => eq(merge(merge(a, b), c), merge(a, merge(b, c)))),
      { numRuns: RUNS },
    );
  });

  it("merge is idempotent (and the empty state is its identity)", () => {
    fc.assert(
      fc.property(stateArb, stateArb, (a, b) => {
        const ab = merge(a, b);
        const n = normalize(a);
        return eq(merge(a, a), n) && eq(merge(n, n), n) && eq(merge(ab, b), ab) && eq(merge(a, emptyRecord("vm", "r1")), n);
      }),
      { numRuns: RUNS },
    );
  });

  it("merge never loses an update: the result is >= both inputs", () => {
    fc.assert(
      fc.property(stateArb, stateArb, (a, b) => {
        const m = merge(a, b);
        return isNormal(m) && eq(merge(m, a), m) && eq(merge(m, b), m);
      }),
      { numRuns: RUNS },
    );
  });
});

// One operation by one replica; stamps are unique per replica, as an HLC guarantees.
interface Op {
  replica: number;
  wallMs: number;
  kind: "set" | "del";
  fields: Record<string, number>;
}
const opsArb = (replicas: number) =>
  fc.array(
    fc.record({
      replica: fc.integer({ min: 0, max: replicas - 1 }),
      wallMs: fc.integer({ min: 0, max: 20 }),
      kind: fc.constantFrom<"set" | "del">("set", "set", "del"),
      fields: fc.dictionary(fc.constantFrom("name", "status", "host"), fc.integer({ min: 0, max: 9 }), { minKeys: 1, maxKeys: 3 }),
    }),
    { minLength: 1, maxLength: 25 },
  );

/** The semantics in plain words: each field takes its newest write, visible only if newer than the newest delete. */
function oracle(writes: Array<{ t: HlcTimestamp; op: Op }>): Record<string, unknown> | undefined {
  let tomb: HlcTimestamp | undefined;
  for (const w of writes) if (w.op.kind === "del" && (!tomb || compareHlc(w.t, tomb) > 0)) tomb = w.t;
  const best: Record<string, { v: number; t: HlcTimestamp }> = {};
  for (const w of writes) {
    if (w.op.kind !== "set") continue;
    for (const [name, v] of Object.entries(w.op.fields)) {
      if (!best[name] || compareHlc(w.t, best[name].t) > 0) best[name] = { v, t: w.t };
    }
  }
  const live = Object.entries(best).filter(([, f]) => !tomb || compareHlc(f.t, tomb) > 0);
  if (tomb && live.length === 0) return undefined;
  return { kind: "vm", id: "r1", ...Object.fromEntries(live.map(([k, f]) => [k, f.v])) };
}

function simulate(replicas: number, ops: Op[], schedule: number[]): { states: RecordState[]; writes: Array<{ t: HlcTimestamp; op: Op }> } {
  const states: RecordState[] = Array.from({ length: replicas }, () => emptyRecord("vm", "r1"));
  const counters = new Array<number>(replicas).fill(0);
  const inflight: Array<{ to: number; delta: RecordDelta }> = [];
  const writes: Array<{ t: HlcTimestamp; op: Op }> = [];
  let s = 0;
  const pick = (n: number) => (n === 0 ? 0 : schedule[s++ % schedule.length] % n);
  for (const op of ops) {
    const t = ts(op.wallMs, counters[op.replica]++, `n${op.replica}`);
    writes.push({ t, op });
    const r =
      op.kind === "set"
        ? setFields(states[op.replica], "vm", "r1", op.fields, t)
        : removeRecord(states[op.replica], "vm", "r1", t);
    states[op.replica] = r.state;
    for (let to = 0; to < replicas; to++) if (to !== op.replica) inflight.push({ to, delta: r.delta });
    // Deliver some in-flight deltas in random order: 0 = lose, 1 = duplicate, else deliver once.
    for (let k = pick(4); k > 0 && inflight.length > 0; k--) {
      const [m] = inflight.splice(pick(inflight.length), 1);
      const fate = pick(5);
      if (fate === 0) continue;
      states[m.to] = merge(states[m.to], m.delta);
      if (fate === 1) inflight.push(m);
    }
  }
  // Whatever is still in flight arrives in some order (some of it lost).
  while (inflight.length > 0) {
    const [m] = inflight.splice(pick(inflight.length), 1);
    if (pick(4) !== 0) states[m.to] = merge(states[m.to], m.delta);
  }
  // Anti-entropy: full-state merges around the ring twice repair every loss.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < replicas; i++) {
      const j = (i + 1) % replicas;
      const joined = merge(states[i], states[j]);
      states[i] = joined;
      states[j] = merge(states[j], joined);
    }
  }
  return { states, writes };
}

describe("lww-map replicas converge", () => {
  it("3-5 replicas converge under random order, duplication and loss repaired by full-state merge", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }).chain((n) => fc.tuple(fc.constant(n), opsArb(n), fc.array(fc.nat(1000), { minLength: 1, maxLength: 60 }))),
        ([n, ops, schedule]) => {
          const { states, writes } = simulate(n, ops, schedule);
          for (const s of states) expect(sameState(s, states[0])).toBe(true);
          expect(toRecord(states[0])).toEqual(oracle(writes));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("lww-map semantics", () => {
  it("a delete hides writes stamped before it; a later write re-creates with only its fields", () => {
    let s = setFields(undefined, "vm", "r1", { name: "a", size: 1 }, ts(1)).state;
    s = removeRecord(s, "vm", "r1", ts(2)).state;
    expect(isLive(s)).toBe(false);
    expect(toRecord(s)).toBeUndefined();
    // A write that raced the delete with an older stamp stays hidden.
    s = merge(s, setFields(undefined, "vm", "r1", { size: 2 }, ts(1, 5, "b")).delta);
    expect(isLive(s)).toBe(false);
    s = setFields(s, "vm", "r1", { name: "b" }, ts(3)).state;
    expect(toRecord(s)).toEqual({ kind: "vm", id: "r1", name: "b" });
  });

  it("a delete stamped equal to a write hides it (delete wins ties) in either order", () => {
    const write = setFields(undefined, "vm", "r1", { name: "a" }, ts(4)).state;
    const del = removeRecord(undefined, "vm", "r1", ts(4)).state;
    expect(isLive(merge(write, del))).toBe(false);
    expect(isLive(merge(del, write))).toBe(false);
  });

  it("version is the greatest stamp, tombstone included", () => {
    let s = setFields(undefined, "vm", "r1", { name: "a" }, ts(1)).state;
    s = setFields(s, "vm", "r1", { size: 1 }, ts(5)).state;
    expect(versionOf(s)).toEqual(ts(5));
    s = removeRecord(s, "vm", "r1", ts(7)).state;
    expect(versionOf(s)).toEqual(ts(7));
    expect(versionOf(emptyRecord("vm", "r1"))).toBeUndefined();
  });

  it("a field named __proto__ in a peer's delta is ignored", () => {
    const delta = JSON.parse('{"kind":"vm","id":"r1","fields":{"__proto__":{"v":1,"t":{"wallMs":1,"counter":0,"node":"a"}}}}') as RecordDelta;
    const s = merge(emptyRecord("vm", "r1"), delta);
    expect(Object.keys(s.fields)).toEqual([]);
    expect(Object.getPrototypeOf(s.fields)).toBe(Object.prototype);
  });

  // Pinned: equal stamps carrying different values must still merge the same way in both orders.
  it("pinned: equal stamps with different values merge deterministically", () => {
    const a: RecordState = { kind: "vm", id: "r1", fields: { name: { v: "x", t: ts(1) } } };
    const b: RecordState = { kind: "vm", id: "r1", fields: { name: { v: 3, t: ts(1) } } };
    expect(sameState(merge(a, b), merge(b, a))).toBe(true);
  });

  // Pinned: a non-normal state (field hidden by its own tombstone) must not leak the field through merge.
  it("pinned: a hidden field in a non-normal delta stays hidden whatever the merge order", () => {
    const a: RecordState = { kind: "vm", id: "r1", fields: { name: { v: 1, t: ts(1) } }, deleted: ts(2) };
    const b: RecordState = { kind: "vm", id: "r1", fields: {} };
    expect(sameState(merge(a, b), merge(b, a))).toBe(true);
    expect(isLive(merge(b, a))).toBe(false);
  });
});

describe("canPurge", () => {
  const dead = removeRecord(setFields(undefined, "vm", "r1", { name: "a" }, ts(1000)).state, "vm", "r1", ts(2000)).state;
  const base = { members: ["b", "c"], acked: new Map<string, HlcTimestamp>(), nowMs: 3000, horizonMs: 86_400_000 };

  it("purges once every live member acknowledged a version >= the tombstone", () => {
    expect(canPurge(dead, { ...base, acked: new Map([["b", ts(2000)]]) })).toBe(false);
    expect(canPurge(dead, { ...base, acked: new Map([["b", ts(2000)], ["c", ts(1999, 9, "z")]]) })).toBe(false);
    expect(canPurge(dead, { ...base, acked: new Map([["b", ts(2000)], ["c", ts(2500)]]) })).toBe(true);
  });

  it("purges after the horizon without acks, never a live record, and a lone node waits for the horizon", () => {
    expect(canPurge(dead, { ...base, nowMs: 2000 + 86_400_000 })).toBe(true);
    expect(canPurge(dead, { ...base, members: [] })).toBe(false);
    const revived = setFields(dead, "vm", "r1", { name: "b" }, ts(2500)).state;
    expect(canPurge(revived, { ...base, nowMs: 1e12, acked: new Map([["b", ts(9999)], ["c", ts(9999)]]) })).toBe(false);
    expect(canPurge(setFields(undefined, "vm", "r2", { a: 1 }, ts(1)).state, { ...base, nowMs: 1e12 })).toBe(false);
  });
});
