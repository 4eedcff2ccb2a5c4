// Time as an injected component: production passes the system clock, the simulator a virtual one.

/** Cancels a scheduled callback; calling it twice is harmless. */
export type Cancel = () => void;

export interface Clock {
  /** Wall-clock milliseconds since the epoch (virtual in the simulator). */
  now(): number;
  /** Runs `fn` once after `delayMs`; returns a canceller. */
  schedule(delayMs: number, fn: () => void): Cancel;
  /** Resolves after `delayMs`; rejects with the signal's reason when aborted. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}
