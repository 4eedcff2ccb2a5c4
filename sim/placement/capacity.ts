// Capacity adverts: each host publishes its ledger's capacity on its AZ's topic, at once (coalesced)
// when it changes and periodically as a refresh; every node keeps the newest advert per host.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import type { Random } from "../../protocol/random.ts";
import type { Transport } from "../../node/mesh/transport.ts";
import type { Ledger } from "./ledger.ts";
import type { HostCapacity } from "./policy.ts";
import { capacityTopic, pack, unpack } from "./wire.ts";

export interface Advert extends HostCapacity {
  seq: number;
}

export interface CapacityInit {
  refreshMs: number;
  coalesceMs: number;
}

export class CapacityAdverts {
  private readonly c: { clock: Clock; random: Random; transport: Transport; ledger: Ledger };
  private readonly init: CapacityInit;
  readonly view = new Map<string, Advert & { receivedAt: number }>();
  private seq = 0;
  private pending: Cancel | undefined;
  private refresh: Cancel | undefined;
  private unsub: (() => void) | undefined;
  published = 0;

  constructor(init: CapacityInit, c: { clock: Clock; random: Random; transport: Transport; ledger: Ledger }) {
    this.init = init;
    this.c = c;
  }

  start(): void {
    const topic = capacityTopic(this.c.ledger.az);
    this.unsub = this.c.transport.subscribe(topic, (m) => this.onAdvert(m.data));
    // Stagger the first advert so a starting mesh does not publish all at once.
    this.armRefresh(this.c.random.next() * Math.min(this.init.refreshMs, 2000));
  }

  stop(): void {
    this.unsub?.();
    this.pending?.();
    this.refresh?.();
  }

  /** The ledger changed: advertise soon (several changes share one advert). */
  changed(): void {
    if (this.pending) return;
    this.pending = this.c.clock.schedule(this.init.coalesceMs, () => {
      this.pending = undefined;
      this.publish();
    });
  }

  /** A front node learnt a fresher truth from a bid answer: correct its own view at once. */
  learn(cap: HostCapacity): void {
    const have = this.view.get(cap.node);
    this.view.set(cap.node, { ...cap, seq: have?.seq ?? 0, receivedAt: this.c.clock.now() });
  }

  private armRefresh(delay: number): void {
    this.refresh = this.c.clock.schedule(delay, () => {
      this.publish();
      this.armRefresh(this.init.refreshMs * (0.9 + 0.2 * this.c.random.next()));
    });
  }

  private publish(): void {
    // Sequence from the wall clock, so a restarted host's adverts still supersede its older ones.
    this.seq = Math.max(this.seq + 1, this.c.clock.now() * 1000);
    const advert: Advert = { ...this.c.ledger.capacity(true), seq: this.seq };
    this.store(advert);
    this.published++;
    void this.c.transport.publish(capacityTopic(this.c.ledger.az), pack(advert)).catch(() => {});
  }

  private onAdvert(data: Uint8Array): void {
    const a = unpack<Advert>(data);
    this.store(a);
  }

  private store(a: Advert): void {
    const have = this.view.get(a.node);
    if (have && have.seq >= a.seq && have.node !== this.c.ledger.node) return;
    this.view.set(a.node, { ...a, receivedAt: this.c.clock.now() });
  }
}
