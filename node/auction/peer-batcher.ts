// Auction operations (bid, award, release) to one peer travel together: while a batch to that peer is
// in flight, new operations queue and go as the next batch when it returns (Nagle-like, so an idle
// mesh adds no delay and a loaded one sends fewer, fuller messages). Releases are lazy: they wait up
// to `lazyMs` for an eager operation to ride with. Every direct message costs a stream frame, noise
// and pnet encryption on both ends; under load that, not the auction logic, is the CPU.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import { PeerstackError } from "../../protocol/errors.ts";
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
  /** When it fails with BatchTimeoutError if still unsent (clock ms). */
  deadline: number;
  done: boolean;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface PeerState {
  queue: Pending[];
  inFlight: number;
  /** An eager operation is queued: flush at the next chance. */
  eager: boolean;
  /** Since when lazy operations have waited (undefined: none waiting). */
  lazySince?: number;
  scheduled: boolean;
}

/** An operation that waited behind a batch still in flight to its peer until its deadline passed. */
export class BatchTimeoutError extends PeerstackError {
  constructor(peer: string, op: OpName, deadline: number) {
    super("AUCTION_BATCH_TIMEOUT", `auction ${op} to peer "${peer}": not sent before its deadline (${deadline}), a batch to that peer still in flight`);
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
    // Peers with operations that wait (behind a batch in flight, or lazy): one shared timer watches them
    // all, instead of a timer per operation (in the simulator every timer is an event).
    const waiting = new Set<string>();
    let sweep: { at: number; cancel: Cancel } | undefined;
    const stateOf = (peer: string) => {
      let s = peers.get(peer);
      if (!s) peers.set(peer, (s = { queue: [], inFlight: 0, eager: false, scheduled: false }));
      return s;
    };

    function arm(at: number): void {
      if (sweep && sweep.at <= at) return;
      sweep?.cancel();
      sweep = { at, cancel: c.clock.schedule(Math.max(0, at - c.clock.now()), onSweep) };
    }

    /** When the next thing about `s` is due: an unsent operation's deadline, or its lazy ones' send time. */
    function dueAt(s: PeerState): number {
      let at = Infinity;
      for (const p of s.queue) if (p.deadline < at) at = p.deadline;
      if (s.lazySince !== undefined && s.inFlight < maxInFlight) at = Math.min(at, s.lazySince + lazyMs);
      return at;
    }

    function onSweep(): void {
      sweep = undefined;
      const now = c.clock.now();
      let next = Infinity;
      for (const peer of waiting) {
        const s = peers.get(peer);
        if (!s) {
          waiting.delete(peer);
          continue;
        }
        for (const p of s.queue) if (p.deadline <= now) settle(p, undefined, new BatchTimeoutError(peer, p.op.op, p.deadline));
        s.queue = s.queue.filter((p) => !p.done); // timed out while queued: never sent
        if (s.queue.length === 0) {
          s.lazySince = undefined;
          waiting.delete(peer);
          if (s.inFlight === 0 && !s.scheduled) peers.delete(peer);
          continue;
        }
        if (s.inFlight < maxInFlight && (s.eager || (s.lazySince !== undefined && now >= s.lazySince + lazyMs))) {
          waiting.delete(peer);
          schedule(peer, s);
          continue;
        }
        next = Math.min(next, dueAt(s));
      }
      if (next < Infinity) arm(next);
    }

    function wait(peer: string, s: PeerState): void {
      waiting.add(peer);
      const at = dueAt(s);
      if (at < Infinity) arm(at);
    }

    function flush(peer: string, s: PeerState): void {
      s.scheduled = false;
      s.queue = s.queue.filter((p) => !p.done);
      if (s.queue.length === 0) {
        s.eager = false;
        s.lazySince = undefined;
        if (s.inFlight === 0) peers.delete(peer);
        return;
      }
      if (s.inFlight >= maxInFlight) return wait(peer, s); // sent when the batch in flight returns
      const batch = s.queue.splice(0, maxOps);
      s.eager = s.queue.some((p) => p.op.op !== "release");
      s.lazySince = s.queue.length > 0 && !s.eager ? c.clock.now() : undefined;
      s.inFlight++;
      stats.batches++;
      stats.ops += batch.length;
      const now = c.clock.now();
      const timeoutMs = Math.max(1, ...batch.map((p) => p.deadline - now));
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
          if (s.queue.length > 0 && s.eager) schedule(peer, s);
          else if (s.queue.length > 0) wait(peer, s);
          else if (s.inFlight === 0 && !s.scheduled) peers.delete(peer);
        });
    }

    function settle(p: Pending, answer: { ok: true; body: unknown } | { ok: false; error: string } | undefined, err?: unknown): void {
      if (p.done) return;
      p.done = true;
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
          s.queue.push({ op: { op, body } as BatchOp, deadline: c.clock.now() + timeoutMs, done: false, resolve, reject });
          if (!opts.lazy) {
            s.eager = true;
            if (s.inFlight < maxInFlight) schedule(peer, s);
            else wait(peer, s); // its deadline is watched while it waits
          } else if (!s.eager) {
            s.lazySince ??= c.clock.now();
            wait(peer, s);
          }
        });
      },
    };
  };
}
