// Group commit: writes that arrive while a synced batch is in flight wait together and go down as the
// next batch, so N concurrent writers pay for about two fsyncs, not N. Writes submitted in the same
// tick share a batch too (the flush starts on a microtask). A failed batch fails the committer for
// good (fail-stop): memory already holds changes the disk refused, so later writes must not pretend.
import { StoreFailedError } from "./errors.ts";
import type { KvOp, KvStore } from "./kv.ts";

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private readonly kv: KvStore;
  private ops: KvOp[] = [];
  private sync = false;
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private failure: unknown;
  /** Batches written so far (for stats and benchmarks). */
  batches = 0;

  constructor(kv: KvStore) {
    this.kv = kv;
  }

  /** Queues `ops` to be written atomically with (at least) each other; resolves once written. */
  submit(ops: readonly KvOp[], sync: boolean): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(new StoreFailedError("the store failed to write an earlier batch", { cause: this.failure }));
    return new Promise<void>((resolve, reject) => {
      for (const op of ops) this.ops.push(op);
      this.sync ||= sync;
      this.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Resolves once everything submitted so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.scheduled || this.waiters.length > 0) {
      if (this.flushing) await this.flushing.catch(() => {});
      else await Promise.resolve();
    }
  }

  private kick(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.waiters.length === 0) return;
    const ops = this.ops;
    const sync = this.sync;
    const waiters = this.waiters;
    this.ops = [];
    this.sync = false;
    this.waiters = [];
    this.flushing = this.kv.batch(ops, { sync }).then(
      () => {
        this.batches++;
        this.flushing = undefined;
        for (const w of waiters) w.resolve();
        this.kick();
      },
      (err: unknown) => {
        this.failure = err;
        this.flushing = undefined;
        for (const w of waiters) w.reject(err);
        const late = this.waiters;
        this.waiters = [];
        this.ops = [];
        for (const w of late) w.reject(new StoreFailedError("the store failed to write an earlier batch", { cause: err }));
      },
    );
  }
}
