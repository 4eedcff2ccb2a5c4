// Phi-accrual failure detector (Hayashibara et al.; the logistic approximation Akka uses): phi grows
// with the time since the last heartbeat, scaled by the observed spread of inter-arrival times.

export interface PhiOptions {
  /** Inter-arrival samples kept per node. */
  window?: number;
  /** Lower bound of the standard deviation, ms (keeps a very regular sender from looking dead at once). */
  minStdMs?: number;
  /** Extra silence accepted before phi starts to rise, ms (GC pauses, busy event loops). */
  pauseMs?: number;
  /** Interval assumed before two samples exist, ms. */
  firstIntervalMs?: number;
}

export class PhiAccrual {
  private readonly window: number;
  private readonly minStdMs: number;
  private readonly pauseMs: number;
  private readonly first: number;
  private readonly intervals: number[] = [];
  private last: number | undefined;

  constructor(opts: PhiOptions = {}) {
    this.window = opts.window ?? 100;
    this.minStdMs = opts.minStdMs ?? 200;
    this.pauseMs = opts.pauseMs ?? 1000;
    this.first = opts.firstIntervalMs ?? 1000;
  }

  heartbeat(nowMs: number): void {
    if (this.last !== undefined) {
      const gap = nowMs - this.last;
      if (gap > 0) {
        this.intervals.push(gap);
        if (this.intervals.length > this.window) this.intervals.shift();
      }
    }
    this.last = nowMs;
  }

  /**
   * A heartbeat that ends an outage (the sender restarted, or a partition healed): it counts as the
   * last heartbeat, but the outage is not an inter-arrival sample. Recording it would inflate the mean
   * and spread, so every later failure of that node would take longer to notice.
   */
  resume(nowMs: number): void {
    this.last = nowMs;
  }

  get lastHeartbeat(): number | undefined {
    return this.last;
  }

  phi(nowMs: number): number {
    if (this.last === undefined) return 0;
    const samples = this.intervals.length > 0 ? this.intervals : [this.first];
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const variance = samples.reduce((a, b) => a + (b - mean) * (b - mean), 0) / samples.length;
    const std = Math.max(Math.sqrt(variance), this.minStdMs);
    const y = (nowMs - this.last - mean - this.pauseMs) / std;
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    const p = nowMs - this.last > mean + this.pauseMs ? e / (1 + e) : 1 - 1 / (1 + e);
    return -Math.log10(Math.max(p, 1e-300));
  }
}
