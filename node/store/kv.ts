// The ordered key-value store under the CRDT store: LevelDB in production, a sorted map in the
// simulator and unit tests. Keys are strings ordered by their UTF-8 bytes (LevelDB's order); values
// are bytes (the CRDT store packs them with msgpackr).

export type KvOp = { type: "put"; key: string; value: Uint8Array } | { type: "del"; key: string };

export interface KvBatchOptions {
  /** Resolve only once the batch is on stable storage (fsync). */
  sync?: boolean;
}

export interface KvRange {
  /** Only keys starting with this (byte-wise). */
  prefix?: string;
  /** Lower bound, inclusive (combined with prefix). */
  gte?: string;
  /** Upper bound, exclusive (combined with prefix). */
  lt?: string;
  /** Greatest key first. */
  reverse?: boolean;
  limit?: number;
}

export interface KvStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Applies all ops atomically (all or none survive a crash), in order (a later op on a key wins). */
  batch(ops: readonly KvOp[], opts?: KvBatchOptions): Promise<void>;
  /** Entries in key order over a snapshot taken when iteration starts. */
  iterate(range?: KvRange): AsyncIterable<[string, Uint8Array]>;
  close(): Promise<void>;
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of a key (the order both implementations use). */
export function keyBytes(key: string): Uint8Array {
  return utf8.encode(key);
}

/** The smallest byte string greater than every string starting with `prefix`, or undefined if none. */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Byte bounds of a range: [lower inclusive, upper exclusive), either may be open. */
export function rangeBounds(range: KvRange): { lower?: Uint8Array; upper?: Uint8Array } {
  let lower = range.prefix !== undefined && range.prefix !== "" ? keyBytes(range.prefix) : undefined;
  let upper = lower ? prefixEnd(lower) : undefined;
  if (range.gte !== undefined) {
    const g = keyBytes(range.gte);
    if (!lower || compareBytes(g, lower) > 0) lower = g;
  }
  if (range.lt !== undefined) {
    const l = keyBytes(range.lt);
    if (!upper || compareBytes(l, upper) < 0) upper = l;
  }
  return { lower, upper };
}
