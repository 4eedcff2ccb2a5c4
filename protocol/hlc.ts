// Hybrid logical clock: wall time when clocks agree, a counter to order events within a millisecond,
// the node id to break ties. Orders every record write in the mesh (LWW registers).
import type { Clock } from "./clock.ts";
import { ClockDriftError } from "./errors.ts";

export interface HlcTimestamp {
  readonly wallMs: number;
  readonly counter: number;
  readonly node: string;
}

export const HLC_ZERO: HlcTimestamp = Object.freeze({ wallMs: 0, counter: 0, node: "" });

/** Total order: wall time, then counter, then node id. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

export function maxHlc(a: HlcTimestamp, b: HlcTimestamp): HlcTimestamp {
  return compareHlc(a, b) >= 0 ? a : b;
}

/** Fixed-width text form that sorts like compareHlc (usable as a LevelDB key part). */
export function formatHlc(t: HlcTimestamp): string {
  return `${t.wallMs.toString(16).padStart(12, "0")}.${t.counter.toString(16).padStart(6, "0")}.${t.node}`;
}

export function parseHlc(text: string): HlcTimestamp {
  const m = /^([0-9a-f]{12})\.([0-9a-f]{6})\.(.*)$/.exec(text);
  if (!m) throw new TypeError(`not an HLC timestamp: "${text.slice(0, 80)}"`);
  return { wallMs: Number.parseInt(m[1], 16), counter: Number.parseInt(m[2], 16), node: m[3] };
}

export interface HlcOptions {
  node: string;
  clock: Clock;
  /** A remote timestamp further ahead than this is refused (a wrong clock must not poison LWW order). */
  maxDriftMs?: number;
}

export const DEFAULT_MAX_DRIFT_MS = 60_000;
const MAX_COUNTER = 0xffffff;

export class Hlc {
  readonly node: string;
  readonly maxDriftMs: number;
  private readonly clock: Clock;
  private last: HlcTimestamp;

  constructor(opts: HlcOptions) {
    this.node = opts.node;
    this.clock = opts.clock;
    this.maxDriftMs = opts.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
    this.last = { wallMs: 0, counter: 0, node: opts.node };
  }

  /** Timestamp for a local event or a message we send. */
  now(): HlcTimestamp {
    const wall = this.clock.now();
    if (wall > this.last.wallMs) this.last = { wallMs: wall, counter: 0, node: this.node };
    else this.last = this.bump(this.last.wallMs, this.last.counter + 1);
    return this.last;
  }

  /** Merges a timestamp seen on a received message; throws ClockDriftError if it is too far ahead. */
  receive(remote: HlcTimestamp): HlcTimestamp {
    const wall = this.clock.now();
    const ahead = remote.wallMs - wall;
    if (ahead > this.maxDriftMs) throw new ClockDriftError(ahead, this.maxDriftMs, remote.node);
    const maxWall = Math.max(wall, this.last.wallMs, remote.wallMs);
    let counter = 0;
    if (maxWall === this.last.wallMs && maxWall === remote.wallMs) counter = Math.max(this.last.counter, remote.counter) + 1;
    else if (maxWall === this.last.wallMs) counter = this.last.counter + 1;
    else if (maxWall === remote.wallMs) counter = remote.counter + 1;
    this.last = this.bump(maxWall, counter);
    return this.last;
  }

  /** The last timestamp issued, without advancing. */
  peek(): HlcTimestamp {
    return this.last;
  }

  // A counter overflow borrows the next millisecond rather than wrapping and breaking monotonicity.
  private bump(wallMs: number, counter: number): HlcTimestamp {
    if (counter > MAX_COUNTER) return { wallMs: wallMs + 1, counter: 0, node: this.node };
    return { wallMs, counter, node: this.node };
  }
}
