// Anti-entropy digests: per kind, a fixed number of buckets (by id hash), each the XOR of the hashes of
// the records in it plus their count. A record's hash covers every register stamp and the tombstone,
// not only its version (the max stamp): two replicas can share a max stamp yet differ in an older
// field whose delta one of them lost, and that must show as a digest difference.
import { formatHlc } from "../../protocol/hlc.ts";
import { hash32 } from "../../protocol/random.ts";
import type { RecordState } from "../../protocol/crdt/lww-map.ts";

export const DEFAULT_BUCKETS = 64;

export interface KindDigest {
  /** Per bucket, XOR of the 32-bit hashes of the records in it. */
  hash: number[];
  /** Per bucket, how many records (tombstoned ones included) it holds. */
  count: number[];
}

export interface StoreDigest {
  buckets: number;
  kinds: Record<string, KindDigest>;
}

// murmur3's finalizer: FNV-1a alone mixes its last characters poorly, and XOR needs well-spread bits.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket of a record id (the same on every node for the same bucket count). */
export function bucketOf(id: string, buckets: number): number {
  return fmix32(hash32(id)) % buckets;
}

/** Hash of a record's registers: independent of field order, changes with any stamp or the tombstone. */
export function recordHash(state: RecordState): number {
  let h = fmix32(hash32(`${state.kind}/${state.id}`));
  for (const name of Object.keys(state.fields)) {
    h ^= fmix32(hash32(`${state.id}\u0000${name}\u0000${formatHlc(state.fields[name].t)}`));
  }
  if (state.deleted) h ^= fmix32(hash32(`${state.id}\u0001${formatHlc(state.deleted)}`));
  return h >>> 0;
}

export function emptyKindDigest(buckets: number): KindDigest {
  return { hash: new Array<number>(buckets).fill(0), count: new Array<number>(buckets).fill(0) };
}

/** The (kind, bucket) pairs where two digests differ, a kind missing on one side counting as empty. */
export function diffDigests(a: StoreDigest, b: StoreDigest): Array<{ kind: string; bucket: number }> {
  if (a.buckets !== b.buckets) throw new RangeError(`digests with ${a.buckets} and ${b.buckets} buckets cannot be compared`);
  const out: Array<{ kind: string; bucket: number }> = [];
  const empty = emptyKindDigest(a.buckets);
  for (const kind of [...new Set([...Object.keys(a.kinds), ...Object.keys(b.kinds)])].sort()) {
    const x = a.kinds[kind] ?? empty;
    const y = b.kinds[kind] ?? empty;
    for (let i = 0; i < a.buckets; i++) if (x.hash[i] !== y.hash[i] || x.count[i] !== y.count[i]) out.push({ kind, bucket: i });
  }
  return out;
}
