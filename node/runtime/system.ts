// The production implementations of the injected Clock and Random. The only place in node/ allowed
// to touch ambient time and randomness (see eslint.config.js).
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleepFor } from "node:timers/promises";
import type { Clock, Cancel } from "../../protocol/clock.ts";
import { SeededRandom, type Random } from "../../protocol/random.ts";

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs: number, fn: () => void): Cancel {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref?.(); // a pending timer must not keep a stopping agent alive
    return () => clearTimeout(t);
  },
  sleep: (delayMs: number, signal?: AbortSignal) => sleepFor(Math.max(0, delayMs), undefined, { signal }),
};

/** Cryptographic randomness; `fork` gives a seeded stream for non-secret jitter. */
export const systemRandom: Random = {
  next: () => randomBytes(4).readUInt32LE(0) / 4294967296,
  int: (n: number) => Math.floor((randomBytes(4).readUInt32LE(0) / 4294967296) * n),
  bytes: (n: number) => new Uint8Array(randomBytes(n)),
  uuid: () => randomUUID(),
  fork: (label: string) => new SeededRandom(randomBytes(4).readUInt32LE(0)).fork(label),
};
