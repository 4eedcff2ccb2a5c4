// Ends placements nobody will finish (docs/architecture.md, "Transient states"). A server record in
// BUILD/scheduling carries its deadline (`place_by`, HLC wall ms) and its scheduling attempt
// (`place_attempt`). Its front node fails it itself at the deadline (placement-service.ts); when that
// node died, restarted or went silent, this watcher, run on every node, writes ERROR "No valid host
// was found" and returns the quota, so no server stays BUILD for ever with its quota taken.
//
// Who ends it, and when (one writer in the normal case, so the quota comes back once):
//  - its front node, when it runs no auction for it any more (it restarted): at once while no other
//    node may have acted yet (before place_by + grace), else after catching up with the mesh;
//  - another node, only once its clock reads past place_by + drift + grace and the front node is dead
//    or was not heard from since the deadline: the lowest-id live node first, the k-th after k x
//    fallback more (a deterministic ender: the others stay out unless it is gone too).
import type { Cancel, Clock } from "../protocol/clock.ts";
import type { CatalogRecord, CrdtStore } from "./store/crdt-store.ts";
import type { QuotaAmounts } from "./quota/limits.ts";

const SERVER_KIND = "server";

/** A member as this node sees it: membership's state and when its last advert arrived (wall ms). */
export interface MemberLiveness {
  id: string;
  state: "alive" | "suspect" | "dead";
  lastHeardMs: number | undefined;
}

export interface ExpiryTiming {
  /** Bound on the clock difference between two nodes (NTP-synced hosts). */
  driftMs: number;
  /** Time the front node has after the deadline to write its own ERROR and have it replicate. */
  graceMs: number;
  /** Extra wait per rank for the fallback enders. */
  fallbackMs: number;
  /** A restarted front node waits this long for the mesh's writes before ending a record others may have ended. */
  catchUpMs: number;
}

export const DEFAULT_EXPIRY_TIMING: ExpiryTiming = { driftMs: 1000, graceMs: 3000, fallbackMs: 5000, catchUpMs: 10_000 };

/** True for a record still waiting for its placement. */
export function isScheduling(r: CatalogRecord | undefined): r is CatalogRecord {
  return r !== undefined && r.status === "BUILD" && r.task_state === "scheduling" && typeof r.host !== "string";
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * Why this node should end the placement now, or undefined. Records written before deadlines were
 * recorded count as already expired (place_by 0): the front-node-alive rule still protects them.
 */
export function expiryReason(
  self: string,
  r: CatalogRecord,
  now: number,
  members: ReadonlyMap<string, MemberLiveness>,
  t: ExpiryTiming,
  ctx: { placing: boolean; startedAt: number },
): string | undefined {
  if (!isScheduling(r)) return undefined;
  const placeBy = num(r.place_by);
  const front = typeof r.scheduled_by === "string" ? r.scheduled_by : "";
  if (front === self) {
    if (ctx.placing) return undefined; // our own deadline timer ends it
    if (now < placeBy + t.graceMs || now - ctx.startedAt >= t.catchUpMs) return "The node scheduling this server restarted before it was placed.";
    return undefined;
  }
  if (now < placeBy + t.driftMs + t.graceMs) return undefined;
  const m = members.get(front);
  const why = !m ? `was removed from the cluster` : m.state === "dead" ? `is dead` : (m.lastHeardMs ?? -Infinity) < placeBy ? `was not heard from since the deadline` : undefined;
  if (!why) return undefined; // the front node is up: it ends its own placements
  const enders = [...members.values()].filter((x) => x.state === "alive" && x.id !== front).map((x) => x.id).sort();
  const rank = enders.indexOf(self);
  if (rank < 0 || now < placeBy + t.driftMs + t.graceMs + rank * t.fallbackMs) return undefined;
  return `The node scheduling this server (${front || "unknown"}) ${why} and the placement passed its deadline.`;
}

export interface PlacementExpiryComponents {
  self: string;
  clock: Clock;
  store: Pick<CrdtStore, "list" | "get" | "put" | "onChange">;
  quota: { release(project: string, amounts: QuotaAmounts): Promise<void> };
  /** The quota a server of this record's flavor holds. */
  quotaOf(r: CatalogRecord): QuotaAmounts;
  /** Every known member, self included. */
  members(): MemberLiveness[];
  /** True while this process runs the auction of that server. */
  placing(serverId: string): boolean;
  onEnded?(serverId: string, message: string): void;
  onError?(serverId: string, err: unknown): void;
}

export interface PlacementExpiry {
  /** Applies the rule to every scheduling record now; returns how many it ended. */
  sweep(): Promise<number>;
  start(): void;
  stop(): void;
}

export function placementExpiry(opts: Partial<ExpiryTiming> & { sweepMs?: number } = {}): (c: PlacementExpiryComponents) => PlacementExpiry {
  const t: ExpiryTiming = { ...DEFAULT_EXPIRY_TIMING, ...opts };
  const sweepMs = opts.sweepMs ?? 1000;
  return (c) => {
    const startedAt = c.clock.now();
    // The records still scheduling, kept by onChange: the sweep looks at these only.
    const waiting = new Set(c.store.list(SERVER_KIND, isScheduling).map((r) => r.id));
    const ending = new Set<string>();
    const off = c.store.onChange(({ delta, record }) => {
      if (delta.kind !== SERVER_KIND) return;
      if (isScheduling(record)) waiting.add(delta.id);
      else waiting.delete(delta.id);
    });

    async function end(r: CatalogRecord, message: string): Promise<boolean> {
      if (ending.has(r.id)) return false;
      ending.add(r.id);
      try {
        const now = c.store.get(SERVER_KIND, r.id);
        // Fenced by the attempt: a record re-scheduled meanwhile, or ended by a write we got since, stays.
        if (!isScheduling(now) || num(now.place_attempt) !== num(r.place_attempt)) return false;
        const fault = { code: 500, message: `No valid host was found. ${message}`, created: new Date(c.clock.now()).toISOString() };
        // The same fields as the award write (host, status, task_state): racing, one of them wins whole.
        await c.store.put(SERVER_KIND, r.id, { status: "ERROR", task_state: null, host: null, fault, ended_attempt: num(r.place_attempt) });
        await c.quota.release(String(r.project_id), c.quotaOf(r)); // never placed: whoever ends it returns it
        c.onEnded?.(r.id, fault.message);
        return true;
      } catch (err) {
        c.onError?.(r.id, err);
        return false;
      } finally {
        ending.delete(r.id);
      }
    }

    async function sweep(): Promise<number> {
      if (waiting.size === 0) return 0;
      const members = new Map(c.members().map((m) => [m.id, m]));
      const now = c.clock.now();
      let ended = 0;
      for (const id of [...waiting]) {
        const r = c.store.get(SERVER_KIND, id);
        if (!isScheduling(r)) {
          waiting.delete(id);
          continue;
        }
        const why = expiryReason(c.self, r, now, members, t, { placing: c.placing(id), startedAt });
        if (why && (await end(r, why))) ended++;
      }
      return ended;
    }

    let timer: Cancel | undefined;
    let stopped = false;
    const tick = () => {
      timer = c.clock.schedule(sweepMs, () => {
        void sweep().finally(() => {
          if (!stopped) tick();
        });
      });
    };
    return {
      sweep,
      start() {
        stopped = false;
        tick();
      },
      stop() {
        stopped = true;
        timer?.();
        off();
      },
    };
  };
}
