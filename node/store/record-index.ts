// The store's memory: every record state by kind and id, each kind's ids by digest bucket, and the
// per-bucket digest kept up to date on every change (XOR out the old hash, XOR in the new one).
import { toRecord, type CatalogRecord, type RecordState } from "../../protocol/crdt/lww-map.ts";
import { bucketOf, emptyKindDigest, recordHash, type KindDigest, type StoreDigest } from "./digest.ts";

interface Entry {
  /** Never mutated once indexed (changes index a new object), so callers may keep it. */
  state: RecordState;
  bucket: number;
  hash: number;
  /** Cached frozen record; null = not computed yet. */
  record: CatalogRecord | undefined | null;
}

interface KindIndex {
  byId: Map<string, Entry>;
  buckets: Array<Set<string>>;
  digest: KindDigest;
}

export class RecordIndex {
  readonly buckets: number;
  private readonly kinds = new Map<string, KindIndex>();

  constructor(buckets: number) {
    this.buckets = buckets;
  }

  clear(): void {
    this.kinds.clear();
  }

  state(kind: string, id: string): RecordState | undefined {
    return this.kinds.get(kind)?.byId.get(id)?.state;
  }

  /** The live record (frozen), or undefined if unknown or deleted. */
  record(kind: string, id: string): CatalogRecord | undefined {
    const e = this.kinds.get(kind)?.byId.get(id);
    return e ? recordOf(e) : undefined;
  }

  /** Live records of a kind. */
  *records(kind: string): Generator<CatalogRecord> {
    const k = this.kinds.get(kind);
    if (!k) return;
    for (const e of k.byId.values()) {
      const r = recordOf(e);
      if (r) yield r;
    }
  }

  /** Every state (tombstoned ones included), across kinds. */
  *states(): Generator<RecordState> {
    for (const k of this.kinds.values()) for (const e of k.byId.values()) yield e.state;
  }

  /** Indexes `state` as the record's new state; returns the record as it now reads. */
  set(state: RecordState): CatalogRecord | undefined {
    let k = this.kinds.get(state.kind);
    if (!k) {
      k = { byId: new Map(), buckets: Array.from({ length: this.buckets }, () => new Set<string>()), digest: emptyKindDigest(this.buckets) };
      this.kinds.set(state.kind, k);
    }
    const old = k.byId.get(state.id);
    const hash = recordHash(state);
    const bucket = old ? old.bucket : bucketOf(state.id, this.buckets);
    if (old) {
      k.digest.hash[bucket] = (k.digest.hash[bucket] ^ old.hash ^ hash) >>> 0;
    } else {
      k.digest.hash[bucket] = (k.digest.hash[bucket] ^ hash) >>> 0;
      k.digest.count[bucket]++;
      k.buckets[bucket].add(state.id);
    }
    const e: Entry = { state, bucket, hash, record: null };
    k.byId.set(state.id, e);
    return recordOf(e);
  }

  delete(kind: string, id: string): void {
    const k = this.kinds.get(kind);
    const e = k?.byId.get(id);
    if (!k || !e) return;
    k.byId.delete(id);
    k.buckets[e.bucket].delete(id);
    k.digest.hash[e.bucket] = (k.digest.hash[e.bucket] ^ e.hash) >>> 0;
    k.digest.count[e.bucket]--;
  }

  digest(): StoreDigest {
    const kinds: Record<string, KindDigest> = {};
    for (const [kind, k] of this.kinds) kinds[kind] = { hash: [...k.digest.hash], count: [...k.digest.count] };
    return { buckets: this.buckets, kinds };
  }

  statesIn(kind: string, bucket: number): RecordState[] {
    const k = this.kinds.get(kind);
    if (!k || bucket < 0 || bucket >= this.buckets) return [];
    return [...k.buckets[bucket]].map((id) => k.byId.get(id)!.state);
  }
}

function recordOf(e: Entry): CatalogRecord | undefined {
  if (e.record === null) {
    const r = toRecord(e.state);
    e.record = r ? Object.freeze(r) : undefined;
  }
  return e.record;
}
