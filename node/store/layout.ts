// How the CRDT store lays its data out in the KvStore, and how values are packed (msgpackr).
//   r/<kind>/<id>  → RecordState          (every record, tombstoned ones until purged)
//   l/<seq hex12>  → LogEntry             (local delta log, in sequence order)
//   m/seq          → number               (last local sequence, survives a trimmed log)
import { Packr } from "msgpackr";
import type { RecordDelta } from "../../protocol/crdt/lww-map.ts";
import type { HlcTimestamp } from "../../protocol/hlc.ts";
import { InvalidRecordError } from "./errors.ts";

export const RECORD_PREFIX = "r/";
export const LOG_PREFIX = "l/";
export const SEQ_KEY = "m/seq";

export interface LogEntry {
  seq: number;
  delta: RecordDelta;
}

// No shared record structures: every value must decode on its own after a restart.
const packr = new Packr({ useRecords: false });

export const pack = (v: unknown): Uint8Array => packr.pack(v);
export const unpack = <T>(bytes: Uint8Array): T => packr.unpack(bytes) as T;

export const recordKey = (kind: string, id: string): string => `${RECORD_PREFIX}${kind}/${id}`;
export const kindPrefix = (kind: string): string => `${RECORD_PREFIX}${kind}/`;
export const logKey = (seq: number): string => `${LOG_PREFIX}${seq.toString(16).padStart(12, "0")}`;

const KIND = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_ID = 256;

/** Kinds name a key range, so they may not contain "/". */
export function checkKind(kind: unknown): asserts kind is string {
  if (typeof kind !== "string" || !KIND.test(kind)) throw new InvalidRecordError(`record kind "${String(kind).slice(0, 80)}" is not [A-Za-z0-9_.-]{1,64}`);
}

export function checkId(kind: string, id: unknown): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID) throw new InvalidRecordError(`${kind} id "${String(id).slice(0, 80)}" must be 1-${MAX_ID} characters`);
}

export function isHlc(t: unknown): t is HlcTimestamp {
  if (typeof t !== "object" || t === null) return false;
  const x = t as Record<string, unknown>;
  return Number.isSafeInteger(x.wallMs) && (x.wallMs as number) >= 0 && Number.isSafeInteger(x.counter) && (x.counter as number) >= 0 && typeof x.node === "string";
}

/** Whether a value received from a peer has the shape of a record delta (values themselves are opaque). */
export function isRecordDelta(d: unknown): d is RecordDelta {
  if (typeof d !== "object" || d === null) return false;
  const x = d as Record<string, unknown>;
  if (typeof x.kind !== "string" || !KIND.test(x.kind)) return false;
  if (typeof x.id !== "string" || x.id.length === 0 || x.id.length > MAX_ID) return false;
  if (x.deleted !== undefined && !isHlc(x.deleted)) return false;
  if (typeof x.fields !== "object" || x.fields === null || Array.isArray(x.fields)) return false;
  for (const f of Object.values(x.fields as Record<string, unknown>)) {
    if (typeof f !== "object" || f === null || !isHlc((f as Record<string, unknown>).t)) return false;
  }
  return true;
}
