// An in-memory mesh for unit tests: every node sees every other, delivery goes through the injected
// clock (so a ManualClock controls it), links can be cut to make partitions.
import type { Clock } from "../../protocol/clock.ts";
import { PeerUnreachableError, type GossipMessage, type RequestHandler, type RequestOptions, type Transport } from "./transport.ts";

export interface MemoryNetworkOptions {
  clock: Clock;
  /** One-way delay of every message, ms. */
  latencyMs?: number;
}

export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly cut = new Set<string>();
  readonly clock: Clock;
  readonly latencyMs: number;
  /** Messages sent (gossip deliveries + requests + responses), for messages-per-operation figures. */
  messages = 0;

  constructor(opts: MemoryNetworkOptions) {
    this.clock = opts.clock;
    this.latencyMs = opts.latencyMs ?? 0;
  }

  join(id: string): MemoryTransport {
    const t = new MemoryTransport(id, this);
    this.nodes.set(id, t);
    return t;
  }

  leave(id: string): void {
    this.nodes.delete(id);
  }

  /** Cuts (or heals) the link between a and b in both directions. */
  setLink(a: string, b: string, up: boolean): void {
    const k = linkKey(a, b);
    if (up) this.cut.delete(k);
    else this.cut.add(k);
  }

  /** Splits the nodes into groups that cannot talk to each other; `heal()` undoes it. */
  partition(...groups: string[][]): void {
    for (let i = 0; i < groups.length; i++)
      for (let j = i + 1; j < groups.length; j++) for (const a of groups[i]) for (const b of groups[j]) this.setLink(a, b, false);
  }

  heal(): void {
    this.cut.clear();
  }

  reachable(a: string, b: string): boolean {
    return a !== b && this.nodes.has(b) && !this.cut.has(linkKey(a, b));
  }

  node(id: string): MemoryTransport | undefined {
    return this.nodes.get(id);
  }

  ids(): string[] {
    return [...this.nodes.keys()];
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export class MemoryTransport implements Transport {
  readonly self: string;
  private readonly net: MemoryNetwork;
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly subs = new Map<string, Set<(msg: GossipMessage) => void>>();

  constructor(self: string, net: MemoryNetwork) {
    this.self = self;
    this.net = net;
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    for (const id of this.net.ids()) {
      if (!this.net.reachable(this.self, id)) continue;
      const target = this.net.node(id);
      this.net.messages++;
      this.net.clock.schedule(this.net.latencyMs, () => target?.deliver(topic, { from: this.self, data }));
    }
  }

  subscribe(topic: string, handler: (msg: GossipMessage) => void): () => void {
    let set = this.subs.get(topic);
    if (!set) this.subs.set(topic, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  handle(protocol: string, handler: RequestHandler): void {
    this.handlers.set(protocol, handler);
  }

  peers(): string[] {
    return this.net.ids().filter((id) => this.net.reachable(this.self, id));
  }

  request(peer: string, protocol: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        cancelTimeout();
        fn();
      };
      const cancelTimeout = opts.timeoutMs != null ? this.net.clock.schedule(opts.timeoutMs, () => settle(() => reject(new PeerUnreachableError(peer, protocol, `no answer in ${opts.timeoutMs} ms`)))) : () => {};
      opts.signal?.addEventListener("abort", () => settle(() => reject(opts.signal?.reason)));
      if (!this.net.reachable(this.self, peer)) {
        // An unreachable peer looks like silence until the timeout, as on a real network.
        if (opts.timeoutMs == null) settle(() => reject(new PeerUnreachableError(peer, protocol, "unreachable")));
        return;
      }
      const handler = this.net.node(peer)?.handlers.get(protocol);
      this.net.messages++;
      this.net.clock.schedule(this.net.latencyMs, () => {
        if (!handler) return settle(() => reject(new PeerUnreachableError(peer, protocol, "no handler")));
        handler(this.self, data).then(
          (answer) => {
            this.net.messages++;
            this.net.clock.schedule(this.net.latencyMs, () => {
              if (this.net.reachable(peer, this.self)) settle(() => resolve(answer));
            });
          },
          (err: unknown) => this.net.clock.schedule(this.net.latencyMs, () => settle(() => reject(err))),
        );
      });
    });
  }

  private deliver(topic: string, msg: GossipMessage): void {
    for (const fn of this.subs.get(topic) ?? []) fn(msg);
  }
}
