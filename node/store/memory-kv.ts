// In-memory KvStore for the simulator and unit tests: a sorted array of UTF-8 keys, the same order as
// LevelDB. `sync` has no meaning here; a batch is applied at once, so it is atomic.
import { StoreClosedError } from "./errors.ts";
import { compareBytes, keyBytes, rangeBounds, type KvOp, type KvRange, type KvStore } from "./kv.ts";

interface Entry {
  key: string;
  bytes: Uint8Array;
  value: Uint8Array;
}

export class MemoryKv implements KvStore {
  private entries: Entry[] = [];
  private closed = false;

  async get(key: string): Promise<Uint8Array | undefined> {
    this.check();
    const i = this.find(keyBytes(key));
    return i.found ? this.entries[i.at].value : undefined;
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    this.check();
    for (const op of ops) {
      const bytes = keyBytes(op.key);
      const i = this.find(bytes);
      if (op.type === "put") {
        // Copy: a caller reusing its buffer must not change what was stored.
        const entry = { key: op.key, bytes, value: Uint8Array.from(op.value) };
        if (i.found) this.entries[i.at] = entry;
        else this.entries.splice(i.at, 0, entry);
      } else if (i.found) {
        this.entries.splice(i.at, 1);
      }
    }
  }

  async *iterate(range: KvRange = {}): AsyncIterable<[string, Uint8Array]> {
    this.check();
    const { lower, upper } = rangeBounds(range);
    const start = lower ? this.find(lower).at : 0;
    const end = upper ? this.find(upper).at : this.entries.length;
    let slice = this.entries.slice(start, Math.max(start, end)); // the snapshot
    if (range.reverse) slice = slice.reverse();
    if (range.limit !== undefined && range.limit >= 0) slice = slice.slice(0, range.limit);
    for (const e of slice) yield [e.key, e.value];
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** A new open store over the same data, as after a process restart with the disk kept (simulator). */
  reopen(): MemoryKv {
    const next = new MemoryKv();
    next.entries = this.entries;
    this.closed = true;
    return next;
  }

  /** Number of keys (tests). */
  get size(): number {
    return this.entries.length;
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError("memory key-value store");
  }

  // Binary search: the index of `bytes`, or where it would be inserted.
  private find(bytes: Uint8Array): { found: boolean; at: number } {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.entries[mid].bytes, bytes);
      if (c === 0) return { found: true, at: mid };
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return { found: false, at: lo };
  }
}
