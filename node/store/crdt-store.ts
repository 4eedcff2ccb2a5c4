// The replicated record store: every record in memory (indexed by kind and digest bucket), persisted
// in a KvStore. A local write is one atomic batch (record state + delta-log entry + sequence) through
// group commit, and its delta is announced (onChange) once durable. Remote deltas merge idempotently,
// one batch per call, and are not logged: the log is this node's outbox, peers re-send theirs.
import { Hlc } from "../../protocol/hlc.ts";
import type { Clock } from "../../protocol/clock.ts";
import { ClockDriftError } from "../../protocol/errors.ts";
import {
  canPurge,
  emptyRecord,
  isLive,
  mergeInto,
  RESERVED_FIELDS,
  setFields,
  removeRecord,
  versionOf,
  type CatalogRecord,
  type PurgeContext,
  type RecordDelta,
  type RecordState,
} from "../../protocol/crdt/lww-map.ts";
import { DEFAULT_BUCKETS, type StoreDigest } from "./digest.ts";
import { InvalidRecordError, StoreClosedError } from "./errors.ts";
import { GroupCommit } from "./group-commit.ts";
import { RecordIndex } from "./record-index.ts";
import type { KvOp, KvStore } from "./kv.ts";
import { checkId, checkKind, isRecordDelta, LOG_PREFIX, logKey, pack, RECORD_PREFIX, recordKey, SEQ_KEY, unpack, type LogEntry } from "./layout.ts";

export type { CatalogRecord, RecordDelta, RecordState } from "../../protocol/crdt/lww-map.ts";
export type { StoreDigest } from "./digest.ts";
export type { LogEntry } from "./layout.ts";

export interface StoreChange {
  delta: RecordDelta;
  /** The record after the change (read-only), or undefined when it is deleted. */
  record?: CatalogRecord;
  local: boolean;
}

export interface StoreStats {
  records: number;
  live: number;
  seq: number;
  batches: number;
  /** Remote deltas refused (malformed, or stamped too far in the future). */
  rejected: number;
}

export interface CrdtStore {
  start(): Promise<void>;
  /** Waits for queued writes; the injected KvStore stays open (its owner closes it). */
  stop(): Promise<void>;
  put(kind: string, id: string, fields: Record<string, unknown>): Promise<RecordDelta>;
  remove(kind: string, id: string): Promise<RecordDelta>;
  get(kind: string, id: string): CatalogRecord | undefined;
  list(kind: string, filter?: (r: CatalogRecord) => boolean): CatalogRecord[];
  applyRemote(deltas: readonly RecordDelta[]): Promise<number>;
  onChange(fn: (change: StoreChange) => void): () => void;
  digest(): StoreDigest;
  statesIn(kind: string, bucket: number): RecordState[];
  /** The full state of one record, tombstoned ones included (anti-entropy, tests). */
  stateOf(kind: string, id: string): RecordState | undefined;
  /** Local delta-log entries with seq > afterSeq, in order. */
  logSince(afterSeq: number, limit?: number): Promise<LogEntry[]>;
  /** Drops local delta-log entries with seq <= throughSeq (once peers have them). */
  trimLog(throughSeq: number): Promise<number>;
  /** Drops tombstoned records that canPurge allows; returns how many. */
  purgeTombstones(ctx: Omit<PurgeContext, "nowMs">): Promise<number>;
  stats(): StoreStats;
  readonly seq: number;
  readonly hlc: Hlc;
}

export interface CrdtStoreInit {
  /** This node's id (the HLC tie-breaker). */
  node: string;
  /** Digest buckets per kind; every node of a mesh must use the same number. */
  buckets?: number;
  maxDriftMs?: number;
}

export interface CrdtStoreComponents {
  clock: Clock;
  kv: KvStore;
}

export function crdtStore(init: CrdtStoreInit): (c: CrdtStoreComponents) => CrdtStore {
  return (c) => new LevelCrdtStore(init, c);
}

/** Creates and starts a store (rebuilding memory from the KvStore). */
export async function openCrdtStore(init: CrdtStoreInit, c: CrdtStoreComponents): Promise<CrdtStore> {
  const store = crdtStore(init)(c);
  await store.start();
  return store;
}

class LevelCrdtStore implements CrdtStore {
  readonly hlc: Hlc;
  private readonly kv: KvStore;
  private readonly clock: Clock;
  private readonly commit: GroupCommit;
  private readonly memory: RecordIndex;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private lastSeq = 0;
  private rejected = 0;
  private running = false;
  private wallFloor = 0;

  constructor(init: CrdtStoreInit, c: CrdtStoreComponents) {
    this.kv = c.kv;
    this.clock = c.clock;
    this.memory = new RecordIndex(init.buckets ?? DEFAULT_BUCKETS);
    // After a restart the HLC must run ahead of every stamp already stored, even if the wall clock
    // stepped back further than the drift limit: its wall time never reads below that floor.
    const floored: Clock = { ...c.clock, now: () => Math.max(c.clock.now(), this.wallFloor) };
    this.hlc = new Hlc({ node: init.node, clock: floored, maxDriftMs: init.maxDriftMs });
    this.commit = new GroupCommit(c.kv);
  }

  get seq(): number {
    return this.lastSeq;
  }

  async start(): Promise<void> {
    this.memory.clear();
    for await (const [, bytes] of this.kv.iterate({ prefix: RECORD_PREFIX })) {
      const state = unpack<RecordState>(bytes);
      this.memory.set(state);
      const v = versionOf(state);
      if (v && v.wallMs >= this.wallFloor) this.wallFloor = v.wallMs + 1;
    }
    const seqBytes = await this.kv.get(SEQ_KEY);
    this.lastSeq = seqBytes ? unpack<number>(seqBytes) : 0;
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.commit.drain();
  }

  async put(kind: string, id: string, fields: Record<string, unknown>): Promise<RecordDelta> {
    this.checkRunning();
    checkKind(kind);
    checkId(kind, id);
    // A write without fields would carry no stamp: peers could not apply it, and replicas would differ.
    if (Object.keys(fields).length === 0) throw new InvalidRecordError(`${kind} "${id}": a write needs at least one field`);
    for (const name of Object.keys(fields)) {
      if (RESERVED_FIELDS.has(name)) throw new InvalidRecordError(`${kind} "${id}": field name "${name}" is reserved`);
    }
    const { state, delta } = setFields(this.stateOf(kind, id), kind, id, fields, this.hlc.now());
    return this.writeLocal(state, delta);
  }

  async remove(kind: string, id: string): Promise<RecordDelta> {
    this.checkRunning();
    checkKind(kind);
    checkId(kind, id);
    const { state, delta } = removeRecord(this.stateOf(kind, id), kind, id, this.hlc.now());
    return this.writeLocal(state, delta);
  }

  get(kind: string, id: string): CatalogRecord | undefined {
    return this.memory.record(kind, id);
  }

  list(kind: string, filter?: (r: CatalogRecord) => boolean): CatalogRecord[] {
    const out: CatalogRecord[] = [];
    for (const r of this.memory.records(kind)) if (!filter || filter(r)) out.push(r);
    return out;
  }

  stateOf(kind: string, id: string): RecordState | undefined {
    return this.memory.state(kind, id);
  }

  async applyRemote(deltas: readonly RecordDelta[]): Promise<number> {
    this.checkRunning();
    const ops: KvOp[] = [];
    const changes: StoreChange[] = [];
    for (const delta of deltas) {
      if (!isRecordDelta(delta)) {
        this.rejected++;
        continue;
      }
      const version = versionOf(delta);
      if (version === undefined) continue;
      try {
        this.hlc.receive(version);
      } catch (err) {
        if (!(err instanceof ClockDriftError)) throw err;
        this.rejected++;
        continue;
      }
      const current = this.stateOf(delta.kind, delta.id) ?? emptyRecord(delta.kind, delta.id);
      const next: RecordState = { ...current, fields: { ...current.fields } };
      if (!mergeInto(next, delta)) continue;
      const record = this.memory.set(next);
      ops.push({ type: "put", key: recordKey(next.kind, next.id), value: pack(next) });
      changes.push({ delta, record, local: false });
    }
    if (ops.length === 0) return 0;
    await this.commit.submit(ops, true);
    this.emit(changes);
    return changes.length;
  }

  onChange(fn: (change: StoreChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  digest(): StoreDigest {
    return this.memory.digest();
  }

  statesIn(kind: string, bucket: number): RecordState[] {
    return this.memory.statesIn(kind, bucket);
  }

  async logSince(afterSeq: number, limit?: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for await (const [, bytes] of this.kv.iterate({ prefix: LOG_PREFIX, gte: logKey(afterSeq + 1), limit })) out.push(unpack<LogEntry>(bytes));
    return out;
  }

  async trimLog(throughSeq: number): Promise<number> {
    this.checkRunning();
    const ops: KvOp[] = [];
    for await (const [key] of this.kv.iterate({ prefix: LOG_PREFIX, lt: logKey(throughSeq + 1) })) ops.push({ type: "del", key });
    if (ops.length > 0) await this.commit.submit(ops, false);
    return ops.length;
  }

  async purgeTombstones(ctx: Omit<PurgeContext, "nowMs">): Promise<number> {
    this.checkRunning();
    const full: PurgeContext = { ...ctx, nowMs: this.clock.now() };
    const ops: KvOp[] = [];
    for (const state of [...this.memory.states()]) {
      if (!canPurge(state, full)) continue;
      this.memory.delete(state.kind, state.id);
      ops.push({ type: "del", key: recordKey(state.kind, state.id) });
    }
    if (ops.length > 0) await this.commit.submit(ops, true);
    return ops.length;
  }

  stats(): StoreStats {
    let records = 0;
    let live = 0;
    for (const state of this.memory.states()) {
      records++;
      if (isLive(state)) live++;
    }
    return { records, live, seq: this.lastSeq, batches: this.commit.batches, rejected: this.rejected };
  }

  // Memory first (so the next write on the record builds on this one), disk through group commit,
  // then the announcement: peers must never hear of a write this node could lose in a crash.
  private async writeLocal(state: RecordState, delta: RecordDelta): Promise<RecordDelta> {
    const record = this.memory.set(state);
    const seq = ++this.lastSeq;
    const entry: LogEntry = { seq, delta };
    await this.commit.submit(
      [
        { type: "put", key: recordKey(state.kind, state.id), value: pack(state) },
        { type: "put", key: logKey(seq), value: pack(entry) },
        { type: "put", key: SEQ_KEY, value: pack(seq) },
      ],
      true,
    );
    this.emit([{ delta, record, local: true }]);
    return delta;
  }

  private emit(changes: StoreChange[]): void {
    for (const change of changes) {
      for (const fn of this.listeners) {
        try {
          fn(change);
        } catch {
          // A listener's failure is its own; the write is already durable and others must still hear of it.
        }
      }
    }
  }

  private checkRunning(): void {
    if (!this.running) throw new StoreClosedError("the CRDT store");
  }
}
