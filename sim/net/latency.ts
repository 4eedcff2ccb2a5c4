// Link latency distributions. A scenario names one for links inside an AZ (LAN) and one between AZs
// (WAN); every message draws its own one-way delay, which also reorders messages on a link.
import type { Random } from "../../protocol/random.ts";

export type LatencySpec =
  | { kind: "const"; ms: number }
  | { kind: "uniform"; minMs: number; maxMs: number }
  /** Log-normal around a median, with a floor: most messages near the median, a long tail. */
  | { kind: "lognormal"; medianMs: number; sigma: number; minMs?: number };

export type Sampler = () => number;

export function sampler(spec: LatencySpec, random: Random): Sampler {
  switch (spec.kind) {
    case "const":
      return () => spec.ms;
    case "uniform":
      return () => spec.minMs + random.next() * (spec.maxMs - spec.minMs);
    case "lognormal": {
      const mu = Math.log(spec.medianMs);
      const floor = spec.minMs ?? 0;
      return () => Math.max(floor, Math.exp(mu + spec.sigma * gaussian(random)));
    }
  }
}

/** Standard normal draw (Box–Muller; one value per call keeps the stream simple to replay). */
export function gaussian(random: Random): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function describe(spec: LatencySpec): string {
  switch (spec.kind) {
    case "const":
      return `${spec.ms} ms`;
    case "uniform":
      return `uniform ${spec.minMs}-${spec.maxMs} ms`;
    case "lognormal":
      return `lognormal median ${spec.medianMs} ms sigma ${spec.sigma}`;
  }
}
