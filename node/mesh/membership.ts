// Membership: every node is a catalog record (kind "node": name, addresses, public key, AZ). Liveness
// comes from adverts on the capacity topic (a minimal one for now) and from live connections, judged
// by a phi-accrual detector: alive / suspect / dead. The node keeps dialing known members and the
// join addresses it is not connected to, so a healed partition or a restarted peer reconnects.
import type { Clock, Cancel } from "../../protocol/clock.ts";
import type { CatalogRecord } from "../../protocol/crdt/lww-map.ts";
import type { CrdtStore } from "../store/crdt-store.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import { silentLog, type MeshLog } from "./log.ts";
import { PhiAccrual } from "./phi.ts";
import type { Transport } from "./transport.ts";
import { decode, encode, WireVersionError } from "./wire.ts";

export const CAPACITY_TOPIC = "/peerstack/capacity/1";
export const NODE_KIND = "node";

export type Liveness = "alive" | "suspect" | "dead";

export interface LivenessAdvert {
  node: string;
  seq: number;
  name: string;
  az: string;
}

export interface MemberView {
  id: string;
  name: string;
  az: string;
  addresses: string[];
  self: boolean;
  connected: boolean;
  state: Liveness;
  phi: number;
  /** Ms since the last advert, or null if none was seen. */
  lastAdvertAgoMs: number | null;
}

export interface MembershipInit {
  name: string;
  az: string;
  publicKey: string;
  /** Addresses others can dial (multiaddrs with /p2p/). */
  addresses: () => string[];
  /** Multiaddrs to dial at start and whenever not connected to them. */
  join?: string[];
  advertMs?: number;
  redialMs?: number;
  suspectPhi?: number;
  deadPhi?: number;
}

/** Opens connections; in production libp2p's dial by multiaddr, resolving to the peer id. */
export interface Dialer {
  dial(addr: string, timeoutMs?: number): Promise<string>;
}

export interface MembershipComponents {
  clock: Clock;
  transport: Transport;
  dialer: Dialer;
  store: Pick<CrdtStore, "put" | "remove" | "get" | "list" | "onChange">;
  log?: MeshLog;
}

export interface Membership {
  start(): Promise<void>;
  stop(): void;
  view(): MemberView[];
  state(id: string): Liveness;
  /** Forgets a dead node (tombstones its record). Refuses a node that is not dead. */
  remove(id: string): Promise<void>;
  stats(): { advertsIn: number; advertsOut: number; dials: number; dialFailures: number; versionRefused: number };
}

export class MemberNotDeadError extends PeerstackError {
  constructor(id: string, state: Liveness) {
    super("MEMBER_NOT_DEAD", `node "${id}" is ${state}; only a dead node can be removed`);
  }
}

export class MemberUnknownError extends PeerstackError {
  constructor(id: string) {
    super("MEMBER_UNKNOWN", `node "${id}" is not a member`);
  }
}

export function membership(init: MembershipInit): (c: MembershipComponents) => Membership {
  return (c) => new Members(init, c);
}

class Members implements Membership {
  private readonly init: MembershipInit;
  private readonly c: MembershipComponents;
  private readonly log: MeshLog;
  private readonly detectors = new Map<string, PhiAccrual>();
  private readonly dialing = new Set<string>();
  private cancels: Cancel[] = [];
  private unsubs: Array<() => void> = [];
  private seq = 0;
  private running = false;
  private readonly counters = { advertsIn: 0, advertsOut: 0, dials: 0, dialFailures: 0, versionRefused: 0 };

  constructor(init: MembershipInit, c: MembershipComponents) {
    this.init = init;
    this.c = c;
    this.log = c.log ?? silentLog;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.publishSelf();
    this.unsubs.push(this.c.transport.subscribe(CAPACITY_TOPIC, (m) => this.onAdvert(m.from, m.data)));
    // Removed while it was only cut off: a live node puts itself back.
    this.unsubs.push(
      this.c.store.onChange((ch) => {
        if (this.running && ch.delta.kind === NODE_KIND && ch.delta.id === this.c.transport.self && !ch.record) {
          this.log.warn({}, "this node's record was removed by a peer; publishing it again");
          void this.publishSelf().catch(() => {});
        }
      }),
    );
    this.advertLoop();
    this.redialLoop(0);
  }

  stop(): void {
    this.running = false;
    for (const cancel of this.cancels) cancel();
    this.cancels = [];
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }

  stats() {
    return { ...this.counters };
  }

  private async publishSelf(): Promise<void> {
    const self = this.c.transport.self;
    const want = { name: this.init.name, az: this.init.az, publicKey: this.init.publicKey, addresses: this.init.addresses() };
    const have = this.c.store.get(NODE_KIND, self);
    const changed = !have || Object.entries(want).some(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v));
    if (changed) await this.c.store.put(NODE_KIND, self, want);
  }

  private advertLoop(): void {
    if (!this.running) return;
    const advert: LivenessAdvert = { node: this.c.transport.self, seq: ++this.seq, name: this.init.name, az: this.init.az };
    this.counters.advertsOut++;
    void this.c.transport.publish(CAPACITY_TOPIC, encode("capacity.advert", this.c.transport.self, advert)).catch(() => {});
    this.cancels.push(this.c.clock.schedule(this.init.advertMs ?? 1000, () => this.advertLoop()));
  }

  private onAdvert(from: string, data: Uint8Array): void {
    try {
      const env = decode<LivenessAdvert>(data, ["capacity.advert"]);
      if (env.from !== from) return;
    } catch (err) {
      if (err instanceof WireVersionError) {
        this.counters.versionRefused++;
        this.log.warn({ from, err: err.message }, "refused an advert of an unsupported version");
      }
      return;
    }
    this.counters.advertsIn++;
    const now = this.c.clock.now();
    const d = this.detector(from);
    // Back from suspect/dead: the silence was an outage, not a heartbeat interval (see PhiAccrual.resume).
    if (d.lastHeartbeat !== undefined && d.phi(now) >= (this.init.suspectPhi ?? 3)) d.resume(now);
    else d.heartbeat(now);
  }

  private detector(id: string): PhiAccrual {
    let d = this.detectors.get(id);
    if (!d) this.detectors.set(id, (d = new PhiAccrual({ firstIntervalMs: this.init.advertMs ?? 1000 })));
    return d;
  }

  private redialLoop(delay: number): void {
    if (!this.running) return;
    this.cancels.push(
      this.c.clock.schedule(delay, () => {
        this.redial();
        this.redialLoop(this.init.redialMs ?? 2000);
      }),
    );
  }

  private redial(): void {
    const self = this.c.transport.self;
    const connected = new Set(this.c.transport.peers());
    const targets: string[] = [];
    for (const addr of this.init.join ?? []) {
      const id = /\/p2p\/([^/]+)$/.exec(addr)?.[1];
      if (id ? !connected.has(id) && id !== self : connected.size === 0) targets.push(addr);
    }
    for (const r of this.c.store.list(NODE_KIND)) {
      if (r.id === self || connected.has(r.id)) continue;
      const addrs = Array.isArray(r.addresses) ? (r.addresses as string[]) : [];
      if (addrs.length > 0) targets.push(addrs[0]);
    }
    for (const addr of targets) {
      if (this.dialing.has(addr)) continue;
      this.dialing.add(addr);
      this.counters.dials++;
      this.c.dialer
        .dial(addr, 3000)
        .catch(() => {
          this.counters.dialFailures++;
        })
        .finally(() => this.dialing.delete(addr));
    }
  }

  state(id: string): Liveness {
    if (id === this.c.transport.self) return "alive";
    const connected = this.c.transport.peers().includes(id);
    const phi = this.detectors.get(id)?.phi(this.c.clock.now()) ?? Number.POSITIVE_INFINITY;
    if (phi < (this.init.suspectPhi ?? 3)) return "alive";
    if (connected || phi < (this.init.deadPhi ?? 8)) return "suspect";
    return "dead";
  }

  view(): MemberView[] {
    const now = this.c.clock.now();
    const connected = new Set(this.c.transport.peers());
    const ids = new Set<string>([...this.c.store.list(NODE_KIND).map((r) => r.id), ...this.detectors.keys(), ...connected]);
    return [...ids].sort().map((id) => {
      const r: CatalogRecord | undefined = this.c.store.get(NODE_KIND, id);
      const d = this.detectors.get(id);
      const last = d?.lastHeartbeat;
      return {
        id,
        name: typeof r?.name === "string" ? r.name : "",
        az: typeof r?.az === "string" ? r.az : "",
        addresses: Array.isArray(r?.addresses) ? (r.addresses as string[]) : [],
        self: id === this.c.transport.self,
        connected: connected.has(id),
        state: this.state(id),
        phi: id === this.c.transport.self ? 0 : Math.round((d?.phi(now) ?? Number.POSITIVE_INFINITY) * 100) / 100,
        lastAdvertAgoMs: last === undefined ? null : now - last,
      };
    });
  }

  async remove(id: string): Promise<void> {
    const known = this.c.store.get(NODE_KIND, id) !== undefined || this.detectors.has(id);
    if (!known) throw new MemberUnknownError(id);
    const s = this.state(id);
    if (s !== "dead") throw new MemberNotDeadError(id, s);
    await this.c.store.remove(NODE_KIND, id);
    this.detectors.delete(id);
    this.log.info({ node: id }, "removed a dead node");
  }
}
