// Capacity adverts: each node publishes its ledger's state on a gossip topic every `intervalMs`
// (jittered) and, coalesced, `coalesceMs` after a change. Every node keeps a view of the others'.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import { readHostState, wireHostState, type HostState } from "../../protocol/placement/index.ts";
import type { Random } from "../../protocol/random.ts";
import { fields } from "../../protocol/validate.ts";
import type { Transport } from "../mesh/transport.ts";
import { sharedDecoder } from "../mesh/shared-decode.ts";
import { decode, encode } from "../mesh/wire.ts";
import type { Ledger } from "./ledger.ts";
import type { CapacityView } from "./view.ts";

export const CAPACITY_TOPIC = "peerstack/capacity/1";
export const ADVERT_TYPE = "capacity.advert";

export interface CapacityAdvert {
  seq: number;
  state: HostState;
}

export interface AdvertiserInit {
  intervalMs?: number;
  coalesceMs?: number;
  topic?: string;
}

export interface AdvertiserComponents {
  clock: Clock;
  random: Random;
  transport: Transport;
  ledger: Ledger;
  view: CapacityView;
}

export interface Advertiser {
  start(): void;
  stop(): void;
  /** The seq of the last advert published (see `nextSeq`). */
  readonly seq: number;
  /** Adverts published by this advertiser. */
  readonly published: number;
}

/** Seq units per clock millisecond: room for 1,000 adverts per ms before seq runs ahead of the clock. */
export const SEQ_PER_MS = 1000;

/**
 * The seq of the next advert. Seqs follow the clock (`now × SEQ_PER_MS`), so a restarted agent — whose
 * in-memory counter is gone — starts above every seq it published before the restart and its peers'
 * views (which keep only higher seqs) accept it at once. Within a process seq is strictly increasing
 * even if the clock steps back (then it counts on by one from the last seq). Across a restart it stays
 * increasing as long as the clock did not step back by more than the agent was down; a node whose
 * clock jumped back further is ignored until the clock passes the old value again, or until peers
 * forget it. Always ≤ 2^53 for any real date (now ≈ 1.8e12 ms → 1.8e15).
 */
export function nextSeq(last: number, nowMs: number): number {
  return Math.max(last + 1, Math.floor(nowMs) * SEQ_PER_MS);
}

export function readAdvert(body: unknown, path = "body"): CapacityAdvert {
  const f = fields(body, path);
  return { seq: f.count("seq"), state: f.field("state", readHostState) };
}

/** An advert's bytes → validated, frozen advert; decoded once however many subscribers get those bytes. */
export const decodeAdvert = sharedDecoder((data: Uint8Array): CapacityAdvert => readAdvert(decode<unknown>(data, [ADVERT_TYPE]).body));

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
/** Same-typed records of numbers (Resources, AllocationRatios): fixed keys. */
const sameNums = <T extends object>(a: T, b: T) => {
  for (const k in a) if (a[k] !== b[k]) return false;
  return true;
};
/** Group counts compare with absent = 0. */
const sameGroups = (a: Record<string, number>, b: Record<string, number>) => {
  for (const k in a) if ((a[k] || 0) !== (b[k] || 0)) return false;
  for (const k in b) if ((a[k] || 0) !== (b[k] || 0)) return false;
  return true;
};

/** Two advertised states say the same thing (a loser's released hold gives back the state before it). */
export function sameHostState(a: HostState, b: HostState): boolean {
  return (
    a.node === b.node &&
    a.az === b.az &&
    a.enabled === b.enabled &&
    a.instances === b.instances &&
    a.arch === b.arch &&
    a.hypervisor === b.hypervisor &&
    sameNums(a.used, b.used) &&
    sameNums(a.total, b.total) &&
    sameNums(a.ratios, b.ratios) &&
    sameGroups(a.groups, b.groups) &&
    sameList(a.aggregates, b.aggregates) &&
    sameList(a.traits, b.traits) &&
    sameList(a.vmModes, b.vmModes) &&
    sameList(a.images, b.images)
  );
}

export function advertiser(init: AdvertiserInit = {}): (c: AdvertiserComponents) => Advertiser {
  const intervalMs = init.intervalMs ?? 5000;
  const coalesceMs = init.coalesceMs ?? 200;
  const topic = init.topic ?? CAPACITY_TOPIC;
  return (c) => {
    let seq = 0;
    let published = 0;
    let lastSent: HostState | undefined;
    let running = false;
    let periodic: Cancel | undefined;
    let pending: Cancel | undefined;
    const off: (() => void)[] = [];

    /**
     * `refresh`: the periodic advert, sent even when nothing changed (peers age entries by it). A
     * change-triggered advert whose state equals the last one sent is skipped: a losing bidder's hold
     * and its release within one coalescing window leave the state as it was. A change advert sent
     * restarts the refresh interval: peers just heard from us, so the next refresh is due a full
     * interval later (a busy host sends no refreshes; ages stay within 1.2 × intervalMs).
     */
    const publish = (refresh: boolean) => {
      pending?.();
      pending = undefined;
      const state = c.ledger.snapshot();
      if (!refresh && lastSent && (state === lastSent || sameHostState(state, lastSent))) return;
      lastSent = state;
      seq = nextSeq(seq, c.clock.now());
      published++;
      c.view.updateSelf(state, seq);
      void c.transport.publish(topic, encode(ADVERT_TYPE, c.transport.self, { seq, state: wireHostState(state) })).catch(() => {});
      if (!refresh && running) {
        periodic?.();
        arm();
      }
    };
    const arm = () => {
      // ±20 % jitter so a mesh's adverts do not fire in step.
      periodic = c.clock.schedule(intervalMs * (0.8 + 0.4 * c.random.next()), () => {
        if (!running) return;
        publish(true);
        arm();
      });
    };
    return {
      get seq() {
        return seq;
      },
      get published() {
        return published;
      },
      start() {
        if (running) return;
        running = true;
        off.push(
          c.transport.subscribe(topic, (msg) => {
            if (msg.from === c.transport.self) return;
            try {
              const advert = decodeAdvert(msg.data);
              if (advert.state.node !== msg.from) return; // a node speaks only for itself
              c.view.learn(advert.state, advert.seq);
            } catch {
              // malformed or foreign-version adverts are dropped; the next one will do
            }
          }),
          c.ledger.onChange(() => {
            // the local view is exact at once; the mesh hears a coalesced advert shortly after
            c.view.updateSelf(c.ledger.snapshot(), seq);
            if (running && !pending) pending = c.clock.schedule(coalesceMs, () => publish(false));
          }),
        );
        publish(true);
        arm();
      },
      stop() {
        running = false;
        periodic?.();
        pending?.();
        pending = undefined;
        for (const f of off.splice(0)) f();
      },
    };
  };
}
