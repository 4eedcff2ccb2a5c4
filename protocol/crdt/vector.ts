// Node-indexed grow-only vectors (node id -> count), the building block of the counter CRDTs.
// Join is the pointwise max; zero entries are dropped so equal states have equal shapes.
import { PeerstackError } from "../errors.ts";
import { expectCount, expectMapOf, MAX_NODE_ID } from "../validate.ts";

export type Vector = Readonly<Record<string, number>>;

export const EMPTY_VECTOR: Vector = Object.freeze({});

/** An amount given to a CRDT mutator that is not a positive safe integer. */
export class InvalidAmountError extends PeerstackError {
  constructor(what: string, n: unknown) {
    super("CRDT_INVALID_AMOUNT", `${what}: amount must be a positive safe integer, got ${String(n)}`);
  }
}

/** A node id a CRDT cannot key on (empty, too long, or an object-prototype name). */
export class InvalidNodeIdError extends PeerstackError {
  constructor(node: unknown) {
    super("CRDT_INVALID_NODE", `invalid node id ${JSON.stringify(String(node)).slice(0, 140)}`);
  }
}

export function checkAmount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidAmountError(what, n);
}

export function checkNodeId(node: string): void {
  if (typeof node !== "string" || node.length === 0 || node.length > MAX_NODE_ID || node === "__proto__" || node === "__proto_") {
    throw new InvalidNodeIdError(node);
  }
}

export function get(v: Vector, node: string): number {
  return Object.hasOwn(v, node) ? v[node] : 0;
}

export function joinVectors(a: Vector, b: Vector): Vector {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(a)) if (x > 0) out[k] = x;
  for (const [k, x] of Object.entries(b)) if (x > (out[k] ?? 0)) out[k] = x;
  return out;
}

export function sumVector(v: Vector): number {
  let s = 0;
  for (const x of Object.values(v)) s += x;
  return s;
}

/** a <= b pointwise (a's information is contained in b). */
export function vectorLeq(a: Vector, b: Vector): boolean {
  for (const [k, x] of Object.entries(a)) if (x > get(b, k)) return false;
  return true;
}

/** The one-entry vector `{node: value}`: the delta of a grow-only increment. */
export function single(node: string, value: number): Vector {
  return { [node]: value };
}

/** Validates a decoded vector: node-id keys, non-negative safe integer values. */
export function readVector(value: unknown, path: string): Vector {
  const v = expectMapOf(value, path, (x, p) => expectCount(x, p), { key: { min: 1, max: MAX_NODE_ID } });
  for (const [k, x] of Object.entries(v)) if (x === 0) delete v[k];
  return v;
}

