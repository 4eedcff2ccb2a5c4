// Fault schedule of a run, drawn from the seed: link faults for the whole safety phase, partitions at
// their times, node crashes at random times. Returns the settings and each event, for printing first.
import type { Cancel } from "../protocol/clock.ts";
import type { Random } from "../protocol/random.ts";
import type { SimHost } from "./host.ts";
import type { SimNetwork } from "./net/network.ts";
import type { Scenario } from "./scenario.ts";

export interface FaultContext {
  net: SimNetwork;
  /** Every host id of the scenario, in order: faults are drawn over all of them, so each shard of a run draws the same. */
  hostIds: string[];
  /** The host of this run with that id (undefined: another shard runs it). */
  local: (id: string) => SimHost | undefined;
  at: (ms: number, fn: () => void) => Cancel;
  random: Random;
}

export function scheduleFaults(s: Scenario, c: FaultContext): { settings: Record<string, unknown>; events: string[] } {
  const f = s.faults;
  const events: string[] = [];
  c.net.faults = { loss: f.loss, duplicate: f.duplicate, reorder: f.reorder, reorderMs: f.reorderMs };
  for (const p of f.partitions) {
    const salt = c.random.next();
    events.push(`partition ${p.kind} at ${p.atMs} ms for ${p.durationMs} ms`);
    c.at(p.atMs, () =>
      c.net.partition((n) => {
        if (p.kind === "split-azs") return n.azIndex % 2;
        if (p.kind === "isolate-az") return n.azIndex === 0 ? 1 : 0;
        return ((n.ordinal * 2654435761 + Math.floor(salt * 4294967296)) >>> 0) % 2;
      }),
    );
    c.at(Math.min(p.atMs + p.durationMs, s.durationMs), () => c.net.heal());
  }
  const window = Math.max(0, s.durationMs - f.crashes.downMs);
  for (let i = 0; i < f.crashes.count; i++) {
    const id = c.hostIds[c.random.int(c.hostIds.length)];
    const atMs = Math.floor(c.random.next() * window);
    events.push(`crash ${id} at ${atMs} ms for ${f.crashes.downMs} ms`);
    const host = c.local(id);
    if (!host) continue;
    c.at(atMs, () => {
      if (host.node.up) host.crash();
    });
    c.at(atMs + f.crashes.downMs, () => {
      if (!host.node.up) void host.restart();
    });
  }
  const { partitions: _p, crashes, ...links } = f;
  return { settings: { ...links, crashes, partitions: f.partitions.length }, events };
}
