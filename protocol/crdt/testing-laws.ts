// Test kit shared by the CRDT law tests (imported only from *.test.ts): reachable states from random
// histories, the join laws, and convergence of N replicas under reordered, duplicated and lost
// deltas repaired by full-state merges.
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";

export interface CrdtModel<S, Op> {
  name: string;
  empty(): S;
  merge(a: S, b: S): S;
  /** Random operation (the node it runs at is chosen by the harness). */
  op: fc.Arbitrary<Op>;
  /** Applies `op` at `node`; undefined when the op is refused there (e.g. not enough rights). */
  apply(s: S, node: string, op: Op): { state: S; delta: S } | undefined;
}

export const NODES = ["n0", "n1", "n2", "n3", "n4"];

export function assertSame<S>(what: string, a: S, b: S): void {
  if (!isDeepStrictEqual(a, b)) throw new Error(`${what} differ:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
}

type Action<Op> =
  | { kind: "op"; r: number; op: Op }
  | { kind: "deliver" | "dup" | "drop"; i: number }
  | { kind: "sync"; from: number; to: number };

function actions<Op>(op: fc.Arbitrary<Op>, maxLength: number): fc.Arbitrary<Action<Op>[]> {
  const r = fc.nat({ max: NODES.length - 1 });
  return fc.array(
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("op" as const), r, op }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("deliver" as const), i: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("dup" as const), i: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), i: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("sync" as const), from: r, to: r }) },
    ),
    { maxLength, size: "max" }, // fast-check's default size would keep histories at ~10 actions
  );
}

/** Runs a history over `n` replicas; returns final replica states and every delta produced. */
export function simulate<S, Op>(model: CrdtModel<S, Op>, n: number, script: Action<Op>[]): { replicas: S[]; deltas: S[] } {
  const replicas = Array.from({ length: n }, () => model.empty());
  const deltas: S[] = [];
  const queue: { to: number; delta: S }[] = [];
  for (const a of script) {
    if (a.kind === "op") {
      const r = a.r % n;
      const out = model.apply(replicas[r], NODES[r], a.op);
      if (!out) continue;
      replicas[r] = out.state;
      deltas.push(out.delta);
      for (let to = 0; to < n; to++) if (to !== r) queue.push({ to, delta: out.delta });
    } else if (a.kind === "sync") {
      replicas[a.to % n] = model.merge(replicas[a.to % n], replicas[a.from % n]);
    } else if (queue.length > 0) {
      const i = a.i % queue.length;
      const m = queue[i];
      if (a.kind !== "dup") queue.splice(i, 1);
      if (a.kind !== "drop") replicas[m.to] = model.merge(replicas[m.to], m.delta);
    }
  }
  return { replicas, deltas };
}

/** Three reachable states (replicas of one history, so they share and diverge causally). */
export function statesArb<S, Op>(model: CrdtModel<S, Op>): fc.Arbitrary<S[]> {
  return actions(model.op, 40).map((script) => simulate(model, 3, script).replicas);
}

export function checkLaws<S, Op>(model: CrdtModel<S, Op>, numRuns = 1000): void {
  const { merge } = model;
  fc.assert(
    fc.property(statesArb(model), ([a, b]) => assertSame("merge(a,b) and merge(b,a)", merge(a, b), merge(b, a))),
    { numRuns },
  );
  fc.assert(
    fc.property(statesArb(model), ([a, b, c]) => assertSame("(a+b)+c and a+(b+c)", merge(merge(a, b), c), merge(a, merge(b, c)))),
    { numRuns },
  );
  fc.assert(
    fc.property(statesArb(model), ([a, b]) => {
      assertSame("merge(a,a) and a", merge(a, a), a);
      assertSame("merge(a,empty) and a", merge(a, model.empty()), a);
      const ab = merge(a, b);
      assertSame("merge(merge(a,b),b) and merge(a,b)", merge(ab, b), ab);
    }),
    { numRuns },
  );
}

export function checkConvergence<S, Op>(model: CrdtModel<S, Op>, numRuns = 1000): void {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 5 }), actions(model.op, 60), (n, script) => {
      const { replicas, deltas } = simulate(model, n, script);
      // Repair whatever gossip lost or reordered with full-state merges (anti-entropy), in a ring twice.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < n; i++) replicas[(i + 1) % n] = model.merge(replicas[(i + 1) % n], replicas[i]);
      }
      for (let i = 1; i < n; i++) assertSame(`replica 0 and replica ${i}`, replicas[0], replicas[i]);
      // The converged state is the join of every delta ever produced, in any order.
      const forward = deltas.reduce((acc, d) => model.merge(acc, d), model.empty());
      const backward = deltas.reduceRight((acc, d) => model.merge(acc, d), model.empty());
      assertSame("converged state and join of all deltas", replicas[0], forward);
      assertSame("forward and backward joins of deltas", forward, backward);
    }),
    { numRuns },
  );
}
