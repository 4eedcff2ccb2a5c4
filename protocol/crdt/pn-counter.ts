// Positive-negative counter: two grow-only counters, increments in `p`, decrements in `n`;
// value = sum(p) - sum(n). Delta-state: a mutator's delta holds only the node's changed entry.
import { fields } from "../validate.ts";
import { checkAmount, checkNodeId, get, joinVectors, readVector, single, sumVector, type Vector } from "./vector.ts";

export interface PnCounter {
  readonly p: Vector;
  readonly n: Vector;
}

export function empty(): PnCounter {
  return { p: {}, n: {} };
}

export function increment(state: PnCounter, node: string, by = 1): { state: PnCounter; delta: PnCounter } {
  checkNodeId(node);
  checkAmount(`incrementing pn-counter at "${node}"`, by);
  const delta = { p: single(node, get(state.p, node) + by), n: {} };
  return { state: merge(state, delta), delta };
}

export function decrement(state: PnCounter, node: string, by = 1): { state: PnCounter; delta: PnCounter } {
  checkNodeId(node);
  checkAmount(`decrementing pn-counter at "${node}"`, by);
  const delta = { p: {}, n: single(node, get(state.n, node) + by) };
  return { state: merge(state, delta), delta };
}

export function merge(a: PnCounter, b: PnCounter): PnCounter {
  return { p: joinVectors(a.p, b.p), n: joinVectors(a.n, b.n) };
}

export function value(state: PnCounter): number {
  return sumVector(state.p) - sumVector(state.n);
}

export function read(value: unknown, path: string): PnCounter {
  const f = fields(value, path);
  return { p: f.field("p", readVector), n: f.field("n", readVector) };
}
