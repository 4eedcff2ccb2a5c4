// Virtual time over the event queue. The run loop pops events in (time, sequence) order and, whenever
// virtual time crosses a drain quantum, lets pending promise continuations run (the real node/ code is
// async): a continuation therefore runs at most one quantum late, and always in the same order.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import { EventQueue, type SimEvent } from "./event-queue.ts";

const NOOP = () => {};

export function cancelEvent(ev: SimEvent): void {
  ev.live = false;
  ev.fn = NOOP; // a cancelled event can wait long in the queue (refreshes 10 min out): let go of what its closure holds
}

/** Epoch of virtual time: 2026-01-01T00:00:00Z, so HLC stamps look like real ones. */
export const SIM_EPOCH_MS = 1_767_225_600_000;

export class SimScheduler {
  readonly queue = new EventQueue();
  private t: number;
  private readonly drainQuantumMs: number;
  /** Set by stop(): the run loop returns after the current event. */
  private halted = false;

  constructor(opts: { startMs?: number; drainQuantumMs?: number } = {}) {
    this.t = opts.startMs ?? SIM_EPOCH_MS;
    this.drainQuantumMs = opts.drainQuantumMs ?? 1;
  }

  now(): number {
    return this.t;
  }

  /** Runs `fn` at `timeMs`; with an `owner` (a NodeClock) only if that node has not restarted by then. */
  at(timeMs: number, fn: () => void, owner: { readonly alive: number } | null = null): Cancel {
    const ev = this.event(timeMs, fn, owner);
    return () => cancelEvent(ev);
  }

  /** As at(), for the sim's own hot paths: the event itself (cancelEvent) instead of a Cancel closure. */
  event(timeMs: number, fn: () => void, owner: { readonly alive: number } | null = null): SimEvent {
    return this.queue.push(Math.max(timeMs, this.t), fn, owner);
  }

  after(delayMs: number, fn: () => void, owner: { readonly alive: number } | null = null): Cancel {
    return this.at(this.t + Math.max(0, delayMs), fn, owner);
  }

  halt(): void {
    this.halted = true;
  }

  /** Runs events until virtual time `untilMs` (inclusive) or until halted; the clock ends at `untilMs`. */
  async runUntil(untilMs: number, onProgress?: (nowMs: number) => void, progressEveryMs = 60_000): Promise<void> {
    this.halted = false;
    let nextDrain = this.t + this.drainQuantumMs;
    let nextProgress = this.t + progressEveryMs;
    await drain();
    for (;;) {
      const at = this.queue.peekTime();
      if (at > untilMs || this.halted) break;
      if (at >= nextDrain) {
        await drain();
        // Continuations may have scheduled earlier events than `at`.
        nextDrain = Math.max(this.t, this.queue.peekTime()) + this.drainQuantumMs;
        continue;
      }
      const ev = this.queue.pop();
      if (!ev) break;
      this.t = ev.at;
      if (ev.owner === null || ev.owner.alive === ev.inc) ev.fn();
      if (onProgress && this.t >= nextProgress) {
        onProgress(this.t);
        nextProgress = this.t + progressEveryMs;
      }
    }
    await drain();
    if (!this.halted) this.t = Math.max(this.t, untilMs);
  }
}

/** Lets every queued microtask (and the ones they queue) run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A node's view of virtual time. Crashing the node bumps its incarnation: timers its components
 * armed before the crash never fire, as a dead process's timers would not.
 */
export class NodeClock implements Clock {
  private readonly sched: SimScheduler;
  private incarnation = 0;
  /** Added to now(): a node's wall clock may be off (clock skew faults). */
  skewMs = 0;

  constructor(sched: SimScheduler) {
    this.sched = sched;
  }

  /** Whole milliseconds, as a real wall clock reads (HLC stamps must be integers). */
  now(): number {
    return Math.floor(this.sched.now()) + this.skewMs;
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    return this.sched.after(delayMs, fn, this);
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const cancel = this.schedule(delayMs, resolve);
      signal?.addEventListener("abort", () => {
        cancel();
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Forgets every timer armed so far (the process died). */
  kill(): void {
    this.incarnation++;
  }

  get alive(): number {
    return this.incarnation;
  }
}
