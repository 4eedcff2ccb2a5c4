// Address blocks ahead of need: every node asks for a block of each subnet it knows in the
// background, so that cut off from the mesh (an edge site's WAN link down) it still allocates from
// blocks of its own (IPAM is escrow: a partitioned node never takes a block, see ipam.ts).
//
// When: a subnet record arrives or changes (after a random delay in [0, jitterMs), so 50 nodes
// learning a subnet at once do not ask its home at the same instant), at start for every known
// subnet, and after each local allocation or grant that leaves this node fewer than `lowWater` free
// addresses of its own (the low-water mark). What: one grant ask per check (Ipam.prefetch; owners
// answer repeated asks idempotently), then a re-check. Work is bounded: at most one pending check
// per subnet; a check that finds `lowWater` free addresses asks nothing; no owner reachable backs off
// exponentially (backoffMs doubling up to maxBackoffMs, jittered); owners with nothing to give are
// asked again only after refusedRetryMs. Uniqueness is Ipam's: prefetch only goes through grants.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import type { Random } from "../../protocol/random.ts";
import type { CrdtStore } from "../store/crdt-store.ts";
import { IPALLOC, IPBLOCK, type Ipam, type IpamSubnet } from "./ipam.ts";

export interface PrefetchInit {
  /** Ask for another block when this node owns fewer free addresses of a subnet (default 4). */
  lowWater?: number;
  /** Upper bound of the random delay before a check triggered by a subnet record (default 2000). */
  jitterMs?: number;
  /** First retry delay when no owner is reachable (default 1000), doubling up to maxBackoffMs (default 60000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Retry delay when reachable owners had no block to give (default 600000). */
  refusedRetryMs?: number;
}

export interface PrefetchLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface PrefetchComponents {
  ipam: Pick<Ipam, "hasFree" | "prefetch">;
  store: Pick<CrdtStore, "get" | "list" | "onChange">;
  clock: Clock;
  random: Random;
  log?: PrefetchLog;
}

export interface BlockPrefetch {
  start(): void;
  stop(): void;
  /** Subnets with a check scheduled or running. */
  pending(): string[];
}

interface Slot {
  timer?: Cancel;
  running: boolean;
  again: boolean;
  failures: number;
}

export function blockPrefetch(init: PrefetchInit = {}): (c: PrefetchComponents) => BlockPrefetch {
  const lowWater = init.lowWater ?? 4;
  const jitterMs = init.jitterMs ?? 2000;
  const backoffMs = init.backoffMs ?? 1000;
  const maxBackoffMs = init.maxBackoffMs ?? 60_000;
  const refusedRetryMs = init.refusedRetryMs ?? 600_000;
  return (c) => {
    const slots = new Map<string, Slot>();
    let stopped = true;
    let unsubscribe: (() => void) | undefined;

    const jitter = () => (jitterMs > 0 ? c.random.int(jitterMs) : 0);
    const spread = (ms: number) => Math.round(ms * (0.5 + c.random.next()));

    const subnetOf = (id: string): IpamSubnet | undefined => {
      const r = c.store.get("subnet", id);
      return r && typeof r.cidr === "string" && typeof r.ipam_home === "string" ? (r as unknown as IpamSubnet) : undefined;
    };

    const poke = (id: string, delayMs: number) => {
      if (stopped) return;
      let s = slots.get(id);
      if (!s) slots.set(id, (s = { running: false, again: false, failures: 0 }));
      if (s.running) {
        s.again = true;
        return;
      }
      if (s.timer) return; // one pending check per subnet (a backoff is kept)
      const slot = s;
      slot.timer = c.clock.schedule(delayMs, () => {
        slot.timer = undefined;
        void check(id, slot);
      });
    };

    const check = async (id: string, s: Slot) => {
      if (stopped) return;
      const subnet = subnetOf(id);
      let outcome: "enough" | "granted" | "refused" | "unreachable";
      try {
        if (!subnet) outcome = "enough";
        else if (c.ipam.hasFree(subnet, lowWater)) outcome = "enough";
        else {
          s.running = true;
          outcome = await c.ipam.prefetch(subnet);
        }
      } catch (err) {
        c.log?.debug({ subnet: id, err: String(err) }, "ipam prefetch check failed");
        outcome = "enough"; // a subnet IPAM cannot serve (bad record): nothing to fetch
      } finally {
        s.running = false;
      }
      if (stopped) return;
      if (outcome === "enough") {
        if (s.again) {
          s.again = false;
          poke(id, 0);
        } else slots.delete(id);
        return;
      }
      s.again = false;
      if (outcome === "granted") {
        s.failures = 0;
        c.log?.info({ subnet: id }, "ipam block prefetched");
        poke(id, 0); // still below the low-water mark (small blocks)? one more; each grant has free space
        return;
      }
      s.failures++;
      const delay = outcome === "refused" ? spread(refusedRetryMs) : spread(Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(s.failures - 1, 30)));
      c.log?.debug({ subnet: id, outcome, failures: s.failures, retryMs: delay }, "ipam prefetch deferred");
      poke(id, delay);
    };

    const drop = (id: string) => {
      slots.get(id)?.timer?.();
      slots.delete(id);
    };

    return {
      start() {
        if (!stopped) return;
        stopped = false;
        unsubscribe = c.store.onChange(({ delta, record, local }) => {
          if (delta.kind === "subnet") {
            if (record) poke(delta.id, jitter());
            else drop(delta.id);
          } else if (local && record && (delta.kind === IPALLOC || delta.kind === IPBLOCK) && typeof record.subnet === "string") {
            poke(record.subnet, 0); // our allocation, or a block we granted away: still above the low-water mark?
          }
        });
        for (const s of c.store.list("subnet")) poke(s.id, jitter());
      },
      stop() {
        stopped = true;
        unsubscribe?.();
        for (const id of [...slots.keys()]) drop(id);
      },
      pending: () => [...slots.keys()],
    };
  };
}
