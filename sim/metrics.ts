// Figures both schedulers share: utilisation (RAM in use over RAM available with ratios, the resource the
// weighers balance), latency percentiles and CDF points.
import type { HostState } from "../protocol/placement/index.ts";

export function utilisation(hosts: Iterable<Pick<HostState, "used" | "total" | "ratios">>): number {
  let used = 0;
  let cap = 0;
  for (const h of hosts) {
    used += h.used.ramMb;
    cap += h.total.ramMb * h.ratios.ram;
  }
  return cap > 0 ? round4(used / cap) : 0;
}

export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Up to `points` [value, cumulative fraction] pairs of a CDF. */
export function cdf(values: number[], points = 50): Array<[number, number]> {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const out: Array<[number, number]> = [];
  for (let i = 1; i <= points; i++) {
    const p = (i / points) * 100;
    out.push([round4(percentile(sorted, p)), round4(p / 100)]);
  }
  return out;
}
