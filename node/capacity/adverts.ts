// Capacity adverts: each node publishes its ledger's state on a gossip topic every `intervalMs`
// (jittered) and, coalesced, `coalesceMs` after a change. Every node keeps a view of the others'.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import { readHostState, type HostState } from "../../protocol/placement/index.ts";
import type { Random } from "../../protocol/random.ts";
import { fields } from "../../protocol/validate.ts";
import type { Transport } from "../mesh/transport.ts";
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
  /** Adverts published so far (the current seq). */
  readonly seq: number;
}

export function readAdvert(body: unknown, path = "body"): CapacityAdvert {
  const f = fields(body, path);
  return { seq: f.count("seq"), state: f.field("state", readHostState) };
}

export function advertiser(init: AdvertiserInit = {}): (c: AdvertiserComponents) => Advertiser {
  const intervalMs = init.intervalMs ?? 5000;
  const coalesceMs = init.coalesceMs ?? 200;
  const topic = init.topic ?? CAPACITY_TOPIC;
  return (c) => {
    let seq = 0;
    let running = false;
    let periodic: Cancel | undefined;
    let pending: Cancel | undefined;
    const off: (() => void)[] = [];

    const publish = () => {
      pending?.();
      pending = undefined;
      const state = c.ledger.state();
      seq++;
      c.view.updateSelf(state, seq);
      void c.transport.publish(topic, encode<CapacityAdvert>(ADVERT_TYPE, c.transport.self, { seq, state })).catch(() => {});
    };
    const arm = () => {
      // ±20 % jitter so a mesh's adverts do not fire in step.
      periodic = c.clock.schedule(intervalMs * (0.8 + 0.4 * c.random.next()), () => {
        if (!running) return;
        publish();
        arm();
      });
    };
    return {
      get seq() {
        return seq;
      },
      start() {
        if (running) return;
        running = true;
        off.push(
          c.transport.subscribe(topic, (msg) => {
            if (msg.from === c.transport.self) return;
            try {
              const env = decode<unknown>(msg.data, [ADVERT_TYPE]);
              const advert = readAdvert(env.body);
              if (advert.state.node !== msg.from) return; // a node speaks only for itself
              c.view.learn(advert.state, advert.seq);
            } catch {
              // malformed or foreign-version adverts are dropped; the next one will do
            }
          }),
          c.ledger.onChange(() => {
            // the local view is exact at once; the mesh hears a coalesced advert shortly after
            c.view.updateSelf(c.ledger.state(), seq);
            if (running && !pending) pending = c.clock.schedule(coalesceMs, publish);
          }),
        );
        publish();
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
