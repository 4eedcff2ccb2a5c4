// Grow-only counter: one entry per node, each node increments only its own entry; value = sum.
// Delta-state: an increment's delta is the node's new entry; merge is the pointwise max.
import { checkAmount, checkNodeId, get, joinVectors, readVector, single, sumVector, type Vector } from "./vector.ts";

export type GCounter = Vector;

export function empty(): GCounter {
  return {};
}

export function increment(state: GCounter, node: string, n = 1): { state: GCounter; delta: GCounter } {
  checkNodeId(node);
  checkAmount(`incrementing g-counter at "${node}"`, n);
  const delta = single(node, get(state, node) + n);
  return { state: merge(state, delta), delta };
}

export function merge(a: GCounter, b: GCounter): GCounter {
  return joinVectors(a, b);
}

export function value(state: GCounter): number {
  return sumVector(state);
}

/** This node's own contribution. */
export function local(state: GCounter, node: string): number {
  return get(state, node);
}

export function read(value: unknown, path: string): GCounter {
  return readVector(value, path);
}
