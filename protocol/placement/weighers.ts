// Nova-style weighing: each weigher gives a raw weight per host, the raw weights are normalised to
// [0, 1] over the candidate set (nova.weights.normalize: min-max, weigher minval/maxval when set, all
// 0 when the range is 0), then each host's weight = sum(multiplier x normalised). Highest wins.
import { free, type HostState, type RequestSpec } from "./types.ts";

export interface Weigher {
  name: string;
  /** Nova's weigher `minval`: a fixed lower bound of the normalisation range (RAM/CPU/Disk use 0). */
  minval?: number;
  raw(host: HostState, spec: RequestSpec): number;
}

export interface WeigherMultipliers {
  ram: number;
  cpu: number;
  disk: number;
  instances: number;
  softAffinity: number;
  softAntiAffinity: number;
}

/** Nova's defaults: ram/cpu/disk 1.0 (spread), num_instances 0.0, soft (anti-)affinity 1.0. */
export const SPREAD: Readonly<WeigherMultipliers> = Object.freeze({ ram: 1, cpu: 1, disk: 1, instances: 0, softAffinity: 1, softAntiAffinity: 1 });
/** Pack mode: negative resource multipliers fill the fullest host first (Nova's "stacking"). */
export const PACK: Readonly<WeigherMultipliers> = Object.freeze({ ram: -1, cpu: -1, disk: -1, instances: 0, softAffinity: 1, softAntiAffinity: 1 });

export const ramWeigher: Weigher = { name: "RAMWeigher", minval: 0, raw: (h) => free(h).ramMb };
export const cpuWeigher: Weigher = { name: "CPUWeigher", minval: 0, raw: (h) => free(h).vcpus };
export const diskWeigher: Weigher = { name: "DiskWeigher", minval: 0, raw: (h) => free(h).diskGb };
export const numInstancesWeigher: Weigher = { name: "NumInstancesWeigher", raw: (h) => h.instances };
/** ServerGroupSoftAffinityWeigher: members of the group on the host (only for soft-affinity groups). */
export const softAffinityWeigher: Weigher = {
  name: "ServerGroupSoftAffinityWeigher",
  raw: (h, s) => (s.group?.policy === "soft-affinity" ? (h.groups[s.group.id] ?? 0) : 0),
};
/** ServerGroupSoftAntiAffinityWeigher: minus the members on the host (only for soft-anti-affinity). */
export const softAntiAffinityWeigher: Weigher = {
  name: "ServerGroupSoftAntiAffinityWeigher",
  raw: (h, s) => (s.group?.policy === "soft-anti-affinity" ? -(h.groups[s.group.id] ?? 0) : 0),
};

const WEIGHERS: readonly [Weigher, keyof WeigherMultipliers][] = [
  [ramWeigher, "ram"],
  [cpuWeigher, "cpu"],
  [diskWeigher, "disk"],
  [numInstancesWeigher, "instances"],
  [softAffinityWeigher, "softAffinity"],
  [softAntiAffinityWeigher, "softAntiAffinity"],
];

/** nova.weights.normalize. */
export function normalize(values: readonly number[], minval?: number, maxval?: number): number[] {
  if (values.length === 0) return [];
  const lo = minval ?? Math.min(...values);
  const hi = maxval ?? Math.max(...values);
  const range = hi - lo;
  if (range === 0) return values.map(() => 0);
  return values.map((v) => (v - lo) / range);
}

export interface WeighedHost {
  host: HostState;
  weight: number;
}

/** Weighs hosts; sorted by weight descending, ties by node id (deterministic). */
export function weighHosts(hosts: readonly HostState[], spec: RequestSpec, multipliers: WeigherMultipliers = SPREAD): WeighedHost[] {
  const weights = hosts.map(() => 0);
  for (const [w, key] of WEIGHERS) {
    const m = multipliers[key];
    if (m === 0) continue;
    // Nova's normalisation with minval = 0 and a raw maximum of 0 (or below) gives a range <= 0: all 0.
    const raw = hosts.map((h) => w.raw(h, spec));
    const norm = w.minval != null && Math.max(...raw) <= w.minval ? raw.map(() => 0) : normalize(raw, w.minval);
    for (let i = 0; i < hosts.length; i++) weights[i] += m * norm[i];
  }
  return hosts
    .map((host, i) => ({ host, weight: weights[i] }))
    .sort((a, b) => b.weight - a.weight || (a.host.node < b.host.node ? -1 : a.host.node > b.host.node ? 1 : 0));
}
