// A catalog record as a CRDT: one last-writer-wins register per field, stamped with an HLC, plus a
// tombstone. Semantics (see docs/notes/store.md):
//  - a field write wins over another write of the same field iff its stamp is greater;
//  - a delete stamped D hides every field write stamped <= D (delete wins over writes it saw or raced
//    with an older stamp); a write stamped > D re-creates the record with only the fields it wrote;
//  - merge is a join: per-field max by stamp, max of tombstones, then fields the tombstone hides are
//    dropped (the normal form), which keeps the join associative, commutative and idempotent.
import { compareHlc, type HlcTimestamp } from "../hlc.ts";

export interface FieldRegister {
  v: unknown;
  t: HlcTimestamp;
}

export interface RecordState {
  kind: string;
  id: string;
  fields: Record<string, FieldRegister>;
  deleted?: HlcTimestamp;
}

/** A delta is a partial record state; applying it is the same join as merging full states. */
export type RecordDelta = RecordState;

/** A live record as the rest of the agent sees it: plain field values beside kind and id. */
export interface CatalogRecord {
  kind: string;
  id: string;
  [field: string]: unknown;
}

/** Field names that would collide with the record's own kind and id in a CatalogRecord. */
export const RESERVED_FIELDS: ReadonlySet<string> = new Set(["kind", "id", "__proto__"]);

/** Empty state of a record (no fields, not deleted): the join's identity. */
export function emptyRecord(kind: string, id: string): RecordState {
  return { kind, id, fields: {} };
}

/** Sets `values` at stamp `t`; returns the new state and the delta that carries the change. */
export function setFields(
  state: RecordState | undefined,
  kind: string,
  id: string,
  values: Record<string, unknown>,
  t: HlcTimestamp,
): { state: RecordState; delta: RecordDelta } {
  const delta: RecordDelta = { kind, id, fields: {} };
  for (const [name, v] of Object.entries(values)) delta.fields[name] = { v, t };
  return { state: merge(state ?? emptyRecord(kind, id), delta), delta };
}

/** Deletes the record at stamp `t` (a tombstone); returns the new state and the delta. */
export function removeRecord(
  state: RecordState | undefined,
  kind: string,
  id: string,
  t: HlcTimestamp,
): { state: RecordState; delta: RecordDelta } {
  const delta: RecordDelta = { kind, id, fields: {}, deleted: t };
  return { state: merge(state ?? emptyRecord(kind, id), delta), delta };
}

/** Join of two states of the same record (a new object in normal form; the inputs are not modified). */
export function merge(a: RecordState, b: RecordState): RecordState {
  const out = normalize(a);
  mergeInto(out, b);
  return out;
}

/** A copy of `s` without the fields its tombstone hides (deltas from peers need not be normal). */
export function normalize(s: RecordState): RecordState {
  const out: RecordState = { kind: s.kind, id: s.id, fields: {} };
  if (s.deleted) out.deleted = s.deleted;
  for (const name of Object.keys(s.fields)) {
    const f = s.fields[name];
    if (!s.deleted || compareHlc(f.t, s.deleted) > 0) out.fields[name] = f;
  }
  return out;
}

/**
 * Joins `delta` into `target` in place (the store's hot path); returns whether `target` changed.
 * `target` must already be in normal form (no field hidden by its tombstone).
 */
export function mergeInto(target: RecordState, delta: RecordState): boolean {
  let changed = false;
  if (delta.deleted && (!target.deleted || compareHlc(delta.deleted, target.deleted) > 0)) {
    target.deleted = delta.deleted;
    changed = true;
    for (const name of Object.keys(target.fields)) {
      if (compareHlc(target.fields[name].t, delta.deleted) <= 0) delete target.fields[name];
    }
  }
  const tomb = target.deleted;
  for (const name of Object.keys(delta.fields)) {
    if (name === "__proto__") continue; // would replace the prototype instead of adding a field
    const incoming = delta.fields[name];
    if (tomb && compareHlc(incoming.t, tomb) <= 0) continue;
    const current = target.fields[name];
    if (current === undefined || wins(incoming, current)) {
      target.fields[name] = incoming;
      changed = true;
    }
  }
  return changed;
}

// Equal stamps mean the same write in practice (an HLC never repeats per node); the value order only
// keeps the join deterministic if a buggy or hostile peer reuses a stamp.
function wins(incoming: FieldRegister, current: FieldRegister): boolean {
  const c = compareHlc(incoming.t, current.t);
  if (c !== 0) return c > 0;
  return canonicalText(incoming.v) > canonicalText(current.v);
}

/** Deterministic text of a value (object keys sorted, binary as hex), used only to break stamp ties. */
export function canonicalText(v: unknown): string {
  if (v === undefined) return "u";
  if (v === null) return "n";
  if (typeof v === "bigint") return `b${v}`;
  if (typeof v === "number" || typeof v === "boolean") return `p${String(v)}`;
  if (typeof v === "string") return `s${JSON.stringify(v)}`;
  if (v instanceof Uint8Array) return `x${Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  if (Array.isArray(v)) return `[${v.map(canonicalText).join(",")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalText(o[k])}`).join(",")}}`;
  }
  return `?${String(v)}`;
}

/** A record exists unless a tombstone hides all of it (a record with no fields and no tombstone exists). */
export function isLive(state: RecordState): boolean {
  if (!state.deleted) return true;
  // States are kept in normal form, so any field left is newer than the tombstone.
  return Object.keys(state.fields).length > 0;
}

/** The record's version for digests and acks: the greatest stamp in it (fields or tombstone). */
export function versionOf(state: RecordState): HlcTimestamp | undefined {
  let best = state.deleted;
  for (const name of Object.keys(state.fields)) {
    const t = state.fields[name].t;
    if (best === undefined || compareHlc(t, best) > 0) best = t;
  }
  return best;
}

/** The plain record, or undefined when the tombstone hides it. */
export function toRecord(state: RecordState): CatalogRecord | undefined {
  if (!isLive(state)) return undefined;
  const out: CatalogRecord = { kind: state.kind, id: state.id };
  for (const name of Object.keys(state.fields)) out[name] = state.fields[name].v;
  return out;
}

/** Whether two states hold the same registers (same stamps, same tombstone). */
export function sameState(a: RecordState, b: RecordState): boolean {
  if (a.kind !== b.kind || a.id !== b.id) return false;
  if ((a.deleted === undefined) !== (b.deleted === undefined)) return false;
  if (a.deleted && b.deleted && compareHlc(a.deleted, b.deleted) !== 0) return false;
  const an = Object.keys(a.fields);
  if (an.length !== Object.keys(b.fields).length) return false;
  for (const name of an) {
    const fb = b.fields[name];
    if (fb === undefined || compareHlc(a.fields[name].t, fb.t) !== 0) return false;
    if (canonicalText(a.fields[name].v) !== canonicalText(fb.v)) return false;
  }
  return true;
}

export interface PurgeContext {
  /** Current live members other than this node (as the membership view has them). */
  members: readonly string[];
  /** Per member, the greatest record version it has acknowledged having everything up to. */
  acked: ReadonlyMap<string, HlcTimestamp>;
  /** Now, in wall-clock milliseconds (from the injected Clock). */
  nowMs: number;
  /** A tombstone older than this is dropped even without every ack (a long, configured horizon). */
  horizonMs: number;
}

/**
 * Whether a tombstoned record may be dropped from the store: it must be dead (no field newer than the
 * tombstone), and either every live member acknowledged a version >= the tombstone, or the tombstone
 * is older than the horizon. With no other members only the horizon applies: a lone node cannot know
 * which absent peers still hold the old fields, and dropping early would let them resurrect the record.
 */
export function canPurge(state: RecordState, ctx: PurgeContext): boolean {
  const tomb = state.deleted;
  if (!tomb || isLive(state)) return false;
  if (ctx.nowMs - tomb.wallMs >= ctx.horizonMs) return true;
  if (ctx.members.length === 0) return false;
  return ctx.members.every((m) => {
    const acked = ctx.acked.get(m);
    return acked !== undefined && compareHlc(acked, tomb) >= 0;
  });
}
