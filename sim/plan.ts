// The hosts of a scenario, in order, with their AZs: every shard of a run and the baseline build the
// same list, so ids, AZ numbers and per-host random draws do not depend on how the run is split.
import type { HostGroup, Scenario } from "./scenario.ts";

export interface PlannedHost {
  id: string;
  az: string;
  /** The AZ's number in order of first appearance. */
  azIndex: number;
  /** The host's number in the scenario. */
  ordinal: number;
  group: HostGroup;
}

export function planHosts(s: Scenario): PlannedHost[] {
  const out: PlannedHost[] = [];
  const azIndex = new Map<string, number>();
  for (const g of s.hosts) {
    for (let i = 0; i < g.count; i++) {
      const az = `${g.prefix}${i % g.sites}`;
      let a = azIndex.get(az);
      if (a === undefined) azIndex.set(az, (a = azIndex.size));
      out.push({ id: `n${String(out.length).padStart(5, "0")}`, az, azIndex: a, ordinal: out.length, group: g });
    }
  }
  return out;
}

/** The AZs in order of first appearance. */
export function azsOf(plan: PlannedHost[]): string[] {
  return [...new Set(plan.map((h) => h.az))];
}

/** Shard `shard` of `shards` runs the AZs whose number is congruent to it. */
export function inShard(azIndex: number, shard: number, shards: number): boolean {
  return azIndex % shards === shard;
}
