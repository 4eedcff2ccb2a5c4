// Auction operations (bid, award, release) to one peer travel together: while a batch to that peer is
// in flight, new operations queue and go as the next batch when it returns (Nagle-like, so an idle
// mesh adds no delay and a loaded one sends fewer, fuller messages). Releases are lazy: they wait up
// to `lazyMs` for an eager operation to ride with. Every direct message costs a stream frame, noise
// and pnet encryption on both ends; under load that, not the auction logic, is the CPU.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import type { Transport } from "../mesh/transport.ts";
import { decode, encode } from "../mesh/wire.ts";
import { BATCH_PROTOCOL, readBatchAnswer, type BatchOp, type OpName } from "./messages.ts";

export interface PeerBatcherInit {
  /** Batches in flight per peer before new operations queue (1: the most batching under load). */
  maxInFlight?: number;
  /** A lazy operation waits this long for an eager one to ride with. */
  lazyMs?: number;
  /** Operations per batch at most. */
  maxOps?: number;
}

export interface PeerBatcherComponents {
  clock: Clock;
  transport: Transport;
}

export interface PeerBatcher {
  /** Sends one operation to `peer`; resolves with its answer body, rejects on timeout or failure. */
  send(peer: string, op: OpName, body: unknown, timeoutMs: number, opts?: { lazy?: boolean }): Promise<unknown>;
  /** Batches sent (each one request and one answer). */
  readonly stats: { batches: number; ops: number };
}

interface Pending {
  op: BatchOp;
  timeoutMs: number;
  done: boolean;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cancelTimer: Cancel;
}

interface PeerState {
  queue: Pending[];
  inFlight: number;
  lazyTimer?: Cancel;
  eager: boolean;
  scheduled: boolean;
}

export class BatchTimeoutError extends Error {
  constructor(peer: string, op: OpName, ms: number) {
    super(`auction ${op} to peer "${peer}": no answer in ${ms} ms`);
    this.name = "BatchTimeoutError";
  }
}

export function peerBatcher(init: PeerBatcherInit = {}): (c: PeerBatcherComponents) => PeerBatcher {
  const maxInFlight = init.maxInFlight ?? 1;
  const lazyMs = init.lazyMs ?? 10;
  const maxOps = init.maxOps ?? 64;
  return (c) => {
    const me = c.transport.self;
    const peers = new Map<string, PeerState>();
    const stats = { batches: 0, ops: 0 };
    const stateOf = (peer: string) => {
      let s = peers.get(peer);
      if (!s) peers.set(peer, (s = { queue: [], inFlight: 0, eager: false, scheduled: false }));
      return s;
    };

    function flush(peer: string, s: PeerState): void {
      s.scheduled = false;
      s.queue = s.queue.filter((p) => !p.done); // timed out while queued: never sent
      if (s.queue.length === 0) {
        s.eager = false;
        return;
      }
      if (s.inFlight >= maxInFlight) return; // sent when the batch in flight returns
      s.lazyTimer?.();
      s.lazyTimer = undefined;
      const batch = s.queue.splice(0, maxOps);
      s.eager = s.queue.some((p) => p.op.op !== "release");
      s.inFlight++;
      stats.batches++;
      stats.ops += batch.length;
      const timeoutMs = Math.max(...batch.map((p) => p.timeoutMs));
      c.transport
        .request(peer, BATCH_PROTOCOL, encode("auction.batch", me, { ops: batch.map((p) => p.op) }), { timeoutMs })
        .then((bytes) => {
          const answers = readBatchAnswer(decode(bytes, ["auction.batch"]).body, batch.length);
          batch.forEach((p, i) => settle(p, answers[i]!));
        })
        .catch((err: unknown) => {
          for (const p of batch) settle(p, undefined, err);
        })
        .finally(() => {
          s.inFlight--;
          if (s.queue.length > 0 && (s.eager || !s.lazyTimer)) schedule(peer, s);
          else if (s.queue.length === 0 && s.inFlight === 0) peers.delete(peer);
        });
    }

    function settle(p: Pending, answer: { ok: true; body: unknown } | { ok: false; error: string } | undefined, err?: unknown): void {
      if (p.done) return;
      p.done = true;
      p.cancelTimer();
      if (err !== undefined) p.reject(err);
      else if (answer && answer.ok) p.resolve(answer.body);
      else p.reject(new Error(answer ? answer.error : "no answer"));
    }

    /** Flushes after the current task: operations issued together (one auction's releases and the next's bids) share a batch. */
    function schedule(peer: string, s: PeerState): void {
      if (s.scheduled) return;
      s.scheduled = true;
      queueMicrotask(() => flush(peer, s));
    }

    return {
      stats,
      send(peer, op, body, timeoutMs, opts = {}) {
        return new Promise((resolve, reject) => {
          const s = stateOf(peer);
          const p: Pending = { op: { op, body } as BatchOp, timeoutMs, done: false, resolve, reject, cancelTimer: () => {} };
          p.cancelTimer = c.clock.schedule(timeoutMs, () => settle(p, undefined, new BatchTimeoutError(peer, op, timeoutMs)));
          s.queue.push(p);
          if (!opts.lazy) {
            s.eager = true;
            schedule(peer, s);
          } else if (!s.eager && !s.lazyTimer) {
            s.lazyTimer = c.clock.schedule(lazyMs, () => {
              s.lazyTimer = undefined;
              schedule(peer, s);
            });
          }
        });
      },
    };
  };
}
