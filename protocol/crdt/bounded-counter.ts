// Bounded counter for quotas (escrow), after Balegas et al., "Extending Eventually Consistent Cloud
// Databases for Enforcing Numeric Invariants" (SRDS 2015). The limit is split into *rights* held by
// nodes; a node spends only rights it holds, so usage never exceeds the limit, not even across
// partitions. Every component is grow-only and written by one node, so merge = pointwise max.
//
// Components (all node -> count, "own" = only that node increments its entry):
//   grants[n]        rights minted at n (initial share, limit raises)        own
//   transfers[a][b]  rights a gave to b                                       own (row a)
//   consumed[n]      rights n spent (resources created)                       own
//   returned[n]      rights n got back (resources deleted through n)          own
//   pledges[n]       rights n promised to destroy (limit lowered through n)   own
//   burns[n]         rights n destroyed to honour its pledges (<= pledges[n]) own
//   target           the admin's limit: LWW register stamped with an HLC
// rights(n) = grants + received - sent - consumed + returned - burns
// limit     = sum(grants) - sum(pledges);  usage = sum(consumed) - sum(returned)
//
// Why it is safe: only n lowers rights(n) (consume, transfer out, burn), always checking its own view
// first; everyone else's operations only raise rights(n). So in the merged truth every rights(n) >= 0,
// hence usage <= sum(grants) - sum(burns) ("minted") at all times, across any partitions.
// Returns are a separate grow-only vector (not negative consumption) so consumption stays monotone;
// the caller must return each freed resource exactly once (see README: the owner returns it).
// Lowering cannot take rights away from other nodes, so it is a debt: the node that applies the new
// limit pledges the difference and burns its own rights up to the pledge; while any debt is visible
// no node consumes (consume throws), and the escrow layer sends spare rights to the debtor, which
// burns them. Usage above a lowered limit therefore only falls, and once debts are paid
// minted == limit, so usage <= limit again.
// Concurrent limit changes: the latest target (HLC) wins; only the node that wrote it reconciles
// sum(grants) - sum(pledges) to its value (reconcileLimit), so adjustments never race each other.
import { compareHlc, type HlcTimestamp } from "../hlc.ts";
import { PeerstackError } from "../errors.ts";
import { expectCount, expectHlc, expectMapOf, fields } from "../validate.ts";
import { checkAmount, checkNodeId, get, joinVectors, readVector, sumVector, type Vector } from "./vector.ts";

export interface LimitTarget {
  readonly value: number;
  /** Stamp of the admin write; `t.node` is the node that applied it and reconciles toward it. */
  readonly t: HlcTimestamp;
}

export interface BoundedCounter {
  readonly grants: Vector;
  readonly transfers: Readonly<Record<string, Vector>>;
  readonly consumed: Vector;
  readonly returned: Vector;
  readonly pledges: Vector;
  readonly burns: Vector;
  readonly target?: LimitTarget;
}

export type Delta = BoundedCounter;
export interface Step {
  state: BoundedCounter;
  delta: Delta;
}

/** A node tried to consume or transfer more rights than it holds (or consume while a debt is open). */
export class InsufficientRightsError extends PeerstackError {
  readonly node: string;
  readonly wanted: number;
  readonly available: number;
  constructor(node: string, action: string, wanted: number, available: number, why = "") {
    super("QUOTA_INSUFFICIENT_RIGHTS", `node "${node}" cannot ${action} ${wanted}: it holds ${available} free rights${why}`);
    this.node = node;
    this.wanted = wanted;
    this.available = available;
  }
}

export function empty(): BoundedCounter {
  return { grants: {}, transfers: {}, consumed: {}, returned: {}, pledges: {}, burns: {} };
}

function none(): { -readonly [K in keyof BoundedCounter]: BoundedCounter[K] } {
  return empty();
}

function joinMatrix(a: Readonly<Record<string, Vector>>, b: Readonly<Record<string, Vector>>): Record<string, Vector> {
  const out: Record<string, Vector> = {};
  for (const [k, row] of Object.entries(a)) out[k] = row;
  for (const [k, row] of Object.entries(b)) out[k] = Object.hasOwn(out, k) ? joinVectors(out[k], row) : row;
  for (const [k, row] of Object.entries(out)) {
    const clean = joinVectors(row, {});
    if (Object.keys(clean).length === 0) delete out[k];
    else out[k] = clean;
  }
  return out;
}

function laterTarget(a?: LimitTarget, b?: LimitTarget): LimitTarget | undefined {
  if (!a || !b) return a ?? b;
  const c = compareHlc(a.t, b.t);
  if (c !== 0) return c > 0 ? a : b;
  return a.value >= b.value ? a : b; // same stamp twice cannot happen; keep the join commutative anyway
}

export function merge(a: BoundedCounter, b: BoundedCounter): BoundedCounter {
  const out: BoundedCounter = {
    grants: joinVectors(a.grants, b.grants),
    transfers: joinMatrix(a.transfers, b.transfers),
    consumed: joinVectors(a.consumed, b.consumed),
    returned: joinVectors(a.returned, b.returned),
    pledges: joinVectors(a.pledges, b.pledges),
    burns: joinVectors(a.burns, b.burns),
  };
  const target = laterTarget(a.target, b.target);
  return target ? { ...out, target } : out;
}

// ---- queries ---------------------------------------------------------------------------------

function received(s: BoundedCounter, node: string): number {
  let r = 0;
  for (const [from, row] of Object.entries(s.transfers)) if (from !== node) r += get(row, node);
  return r;
}

function sent(s: BoundedCounter, node: string): number {
  return Object.hasOwn(s.transfers, node) ? sumVector(s.transfers[node]) : 0;
}

/** Rights `node` holds in this view (never below zero in the merged truth). */
export function rights(s: BoundedCounter, node: string): number {
  return get(s.grants, node) + received(s, node) - sent(s, node) - get(s.consumed, node) + get(s.returned, node) - get(s.burns, node);
}

/** Rights `node` still has to burn for limit decreases it applied. */
export function debt(s: BoundedCounter, node: string): number {
  return get(s.pledges, node) - get(s.burns, node);
}

export function totalDebt(s: BoundedCounter): number {
  return sumVector(s.pledges) - sumVector(s.burns);
}

/** Rights `node` may give away: its rights beyond its own debt. */
export function transferable(s: BoundedCounter, node: string): number {
  return Math.max(0, rights(s, node) - debt(s, node));
}

/** Rights `node` may spend now: none while any debt is visible. */
export function available(s: BoundedCounter, node: string): number {
  return totalDebt(s) > 0 ? 0 : Math.max(0, rights(s, node));
}

/** The limit: rights minted minus rights pledged away. */
export function limit(s: BoundedCounter): number {
  return sumVector(s.grants) - sumVector(s.pledges);
}

/** Rights minted and not yet burned; usage <= minted holds always. */
export function minted(s: BoundedCounter): number {
  return sumVector(s.grants) - sumVector(s.burns);
}

/** Usage: rights consumed minus rights returned. */
export function usage(s: BoundedCounter): number {
  return sumVector(s.consumed) - sumVector(s.returned);
}

// ---- mutators (each returns the new state and its delta) ----------------------------------------

function step(s: BoundedCounter, delta: Delta): Step {
  return { state: merge(s, delta), delta };
}

/** Spends `n` rights at `node` (creating a resource). Throws InsufficientRightsError. */
export function consume(s: BoundedCounter, node: string, n: number): Step {
  checkNodeId(node);
  checkAmount(`consuming quota at "${node}"`, n);
  const free = available(s, node);
  if (free < n) {
    const why = totalDebt(s) > 0 ? ` (a lowered limit leaves ${totalDebt(s)} rights to burn first)` : "";
    throw new InsufficientRightsError(node, "consume", n, free, why);
  }
  const d = none();
  d.consumed = { [node]: get(s.consumed, node) + n };
  return step(s, d);
}

/** Gives `n` rights back to `node` when a resource is deleted through it (once per resource!). */
export function release(s: BoundedCounter, node: string, n: number): Step {
  checkNodeId(node);
  checkAmount(`returning quota at "${node}"`, n);
  const d = none();
  d.returned = { [node]: get(s.returned, node) + n };
  return settleInto(merge(s, d), node, d);
}

/** Moves `n` of `from`'s own rights to `to` (only `from` may call this). */
export function transfer(s: BoundedCounter, from: string, to: string, n: number): Step {
  checkNodeId(from);
  checkNodeId(to);
  checkAmount(`transferring quota from "${from}" to "${to}"`, n);
  if (from === to) throw new TypeError(`transfer from "${from}" to itself`);
  const free = transferable(s, from);
  if (free < n) throw new InsufficientRightsError(from, `transfer to "${to}"`, n, free);
  const row = Object.hasOwn(s.transfers, from) ? s.transfers[from] : {};
  const d = none();
  d.transfers = { [from]: { [to]: get(row, to) + n } };
  return step(s, d);
}

/** Mints `n` new rights at `node`. Only for the initial split and reconcileLimit. */
export function grant(s: BoundedCounter, node: string, n: number): Step {
  checkNodeId(node);
  checkAmount(`granting quota at "${node}"`, n);
  const d = none();
  d.grants = { [node]: get(s.grants, node) + n };
  return step(s, d);
}

function settleInto(s: BoundedCounter, node: string, d: ReturnType<typeof none>): Step {
  const burn = Math.min(debt(s, node), Math.max(0, rights(s, node)));
  if (burn <= 0) return { state: s, delta: d };
  d.burns = { [node]: get(s.burns, node) + burn };
  return { state: merge(s, d), delta: d };
}

/** Burns `node`'s rights toward its debt; call after merges that brought it rights. Undefined if nothing to do. */
export function settle(s: BoundedCounter, node: string): Step | undefined {
  checkNodeId(node);
  const r = settleInto(s, node, none());
  return r.state === s ? undefined : r;
}

/** Pledges to destroy `n` rights at `node` (lowers the limit by n) and burns what it can now. */
export function pledge(s: BoundedCounter, node: string, n: number): Step {
  checkNodeId(node);
  checkAmount(`lowering quota at "${node}"`, n);
  const d = none();
  d.pledges = { [node]: get(s.pledges, node) + n };
  return settleInto(merge(s, d), node, d);
}

/** Admin write: the limit becomes `value` (the latest `t` wins); `t.node` must be `node`, from its Hlc. */
export function setLimit(s: BoundedCounter, node: string, value: number, t: HlcTimestamp): Step {
  checkNodeId(node);
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`quota limit must be a non-negative integer, got ${value}`);
  if (t.node !== node) throw new TypeError(`limit stamp from "${t.node}" applied at "${node}"`);
  const d0 = none();
  d0.target = { value, t };
  const s1 = merge(s, d0);
  const r = reconcileLimit(s1, node);
  return r ? { state: r.state, delta: merge(d0, r.delta) } : { state: s1, delta: d0 };
}

/** If `node` wrote the winning target, mint or pledge so that limit() equals it. Undefined if nothing to do. */
export function reconcileLimit(s: BoundedCounter, node: string): Step | undefined {
  const target = s.target;
  if (!target || target.t.node !== node) return undefined;
  const gap = target.value - limit(s);
  if (gap > 0) return grant(s, node, gap);
  if (gap < 0) return pledge(s, node, -gap);
  return undefined;
}

/**
 * True if every entry of `delta` is in `node`'s own rows, as the deltas `node` itself produces are.
 * A receiver can demand this of deltas gossiped by their author (full states from anti-entropy
 * carry everyone's rows and cannot be checked this way).
 */
export function isAuthoredBy(delta: Delta, node: string): boolean {
  const onlyNode = (v: Vector) => Object.keys(v).every((k) => k === node);
  return (
    onlyNode(delta.grants) &&
    onlyNode(delta.consumed) &&
    onlyNode(delta.returned) &&
    onlyNode(delta.pledges) &&
    onlyNode(delta.burns) &&
    Object.keys(delta.transfers).every((from) => from === node) &&
    (delta.target === undefined || delta.target.t.node === node)
  );
}

// ---- wire ----------------------------------------------------------------------------------------

// A node never transfers to itself; such an entry could only make it under-count its own rights.
function withoutDiagonal(m: Record<string, Vector>): Record<string, Vector> {
  const out: Record<string, Vector> = {};
  for (const [from, row] of Object.entries(m)) out[from] = Object.fromEntries(Object.entries(row).filter(([to]) => to !== from));
  return joinMatrix(out, {});
}

/** Validates a decoded bounded counter (state or delta). */
export function read(value: unknown, path: string): BoundedCounter {
  const f = fields(value, path);
  const out: BoundedCounter = {
    grants: f.field("grants", readVector),
    transfers: withoutDiagonal(f.field("transfers", (x, p) => expectMapOf(x, p, readVector, { key: { min: 1, max: 128 } }))),
    consumed: f.field("consumed", readVector),
    returned: f.field("returned", readVector),
    pledges: f.field("pledges", readVector),
    burns: f.field("burns", readVector),
  };
  const target = f.optional("target", (x, p) => {
    const t = fields(x, p);
    return { value: t.field("value", (y, q) => expectCount(y, q)), t: t.field("t", expectHlc) };
  });
  return target ? { ...out, target } : out;
}
