// KvStore over LevelDB (classic-level). Keys are stored as their UTF-8 bytes, so ranges by prefix are
// byte ranges; values are raw bytes.
import { ClassicLevel } from "classic-level";
import { StoreClosedError, StoreIoError } from "./errors.ts";
import { keyBytes, rangeBounds, type KvBatchOptions, type KvOp, type KvRange, type KvStore } from "./kv.ts";

const decoder = new TextDecoder();

export class LevelKv implements KvStore {
  readonly location: string;
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;

  private constructor(location: string, db: ClassicLevel<Uint8Array, Uint8Array>) {
    this.location = location;
    this.db = db;
  }

  /** Opens (creating if needed) the LevelDB database in directory `location`. */
  static async open(location: string): Promise<LevelKv> {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: "view", valueEncoding: "view" });
    try {
      await db.open();
    } catch (cause) {
      throw new StoreIoError(`opening LevelDB "${location}"`, { cause });
    }
    return new LevelKv(location, db);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.check();
    return (await this.db.get(keyBytes(key))) ?? undefined;
  }

  async batch(ops: readonly KvOp[], opts: KvBatchOptions = {}): Promise<void> {
    this.check();
    const level = ops.map((op) =>
      op.type === "put" ? { type: "put" as const, key: keyBytes(op.key), value: op.value } : { type: "del" as const, key: keyBytes(op.key) },
    );
    try {
      await this.db.batch(level, { sync: opts.sync === true });
    } catch (cause) {
      throw new StoreIoError(`writing a batch of ${ops.length} to LevelDB "${this.location}"`, { cause });
    }
  }

  async *iterate(range: KvRange = {}): AsyncIterable<[string, Uint8Array]> {
    this.check();
    const { lower, upper } = rangeBounds(range);
    const opts: { gte?: Uint8Array; lt?: Uint8Array; reverse?: boolean; limit?: number } = { reverse: range.reverse === true };
    if (lower) opts.gte = lower;
    if (upper) opts.lt = upper;
    if (range.limit !== undefined) opts.limit = range.limit;
    for await (const [k, v] of this.db.iterator(opts)) yield [decoder.decode(k), v];
  }

  async close(): Promise<void> {
    if (this.db.status === "closed") return;
    await this.db.close();
  }

  private check(): void {
    if (this.db.status !== "open") throw new StoreClosedError(`LevelDB "${this.location}"`);
  }
}
