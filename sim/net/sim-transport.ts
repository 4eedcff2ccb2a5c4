// node/'s Transport over the simulated network: gossip through the gossipsub model, direct requests
// as two messages (request, response) that each face latency, loss, duplication and partitions.
import { PeerUnreachableError, type GossipMessage, type RequestHandler, type RequestOptions, type Transport } from "../../node/mesh/transport.ts";
import { cancelEvent } from "../engine/sim-clock.ts";
import type { GossipRouter } from "./gossip.ts";
import type { SimNetwork, SimNode } from "./network.ts";

/** Requests without a timeout still give up after this long, as a real stream would. */
const DEFAULT_TIMEOUT_MS = 30_000;

export class SimTransport implements Transport {
  readonly self: string;
  private readonly node: SimNode;
  private readonly net: SimNetwork;
  private readonly gossip: GossipRouter;
  private readonly mesh: SimMesh;
  private handlers = new Map<string, RequestHandler>();
  /** Categories per protocol name, so counting does not build strings per message. */
  private static readonly categories = new Map<string, { req: string; res: string }>();

  constructor(node: SimNode, mesh: SimMesh) {
    this.self = node.id;
    this.node = node;
    this.mesh = mesh;
    this.net = mesh.net;
    this.gossip = mesh.gossip;
  }

  /** The process died: handlers and subscriptions are gone until the node's components start again. */
  reset(): void {
    this.handlers = new Map();
    this.gossip.dropHandlers(this.node.index);
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    if (!this.node.up) return;
    this.gossip.publish(this.node.index, topic, data);
  }

  subscribe(topic: string, handler: (msg: GossipMessage) => void): () => void {
    return this.gossip.subscribe(this.node.index, topic, handler);
  }

  handle(protocol: string, handler: RequestHandler): void {
    this.handlers.set(protocol, handler);
  }

  /** Connected peers: in gossipsub terms, the mesh neighbours on any topic that are reachable. */
  peers(): string[] {
    const out: string[] = [];
    for (const nb of this.gossip.meshOf(this.mesh.peerTopic, this.node.index)) if (this.net.reachable(this.node.index, nb)) out.push(this.net.nodes[nb].id);
    return out;
  }

  request(peer: string, protocol: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    const net = this.net;
    const me = this.node.index;
    const cat = SimTransport.category(protocol);
    return new Promise((resolve, reject) => {
      let settled = false;
      const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const settle = (ok: boolean, value: unknown) => {
        if (settled) return;
        settled = true;
        cancelEvent(timeout);
        if (ok) resolve(value as Uint8Array);
        else reject(value);
      };
      const timeout = net.sched.event(net.sched.now() + timeoutMs, () => settle(false, new PeerUnreachableError(peer, protocol, `no answer in ${timeoutMs} ms`)), this.node.clock);
      opts.signal?.addEventListener("abort", () => settle(false, opts.signal?.reason), { once: true });
      const target = net.indexOf(peer);
      if (target === undefined) return settle(false, new PeerUnreachableError(peer, protocol, "unknown peer"));
      const callerInc = this.node.clock.alive;
      net.send(me, target, cat.req, () => {
        const remote = net.nodes[target];
        const handler = this.mesh.transports[target]?.handlerFor(protocol);
        if (!handler) {
          net.send(target, me, cat.res, () => settle(false, new PeerUnreachableError(peer, protocol, "no handler")));
          return;
        }
        const inc = remote.clock.alive;
        handler(this.self, data).then(
          (answer) => {
            // A node that crashed while handling never answers.
            if (remote.clock.alive !== inc || !remote.up) return;
            net.send(target, me, cat.res, () => {
              if (this.node.clock.alive === callerInc) settle(true, answer);
            });
          },
          (err: unknown) => {
            if (remote.clock.alive !== inc || !remote.up) return;
            net.send(target, me, cat.res, () => settle(false, err));
          },
        );
      });
    });
  }

  /** The handler table, for the network's delivery side. */
  handlerFor(protocol: string): RequestHandler | undefined {
    return this.handlers.get(protocol);
  }

  private static category(protocol: string): { req: string; res: string } {
    let c = SimTransport.categories.get(protocol);
    if (!c) SimTransport.categories.set(protocol, (c = { req: `direct ${protocol}`, res: `direct ${protocol}` }));
    return c;
  }
}

/** The network, the gossip model and every node's transport: what a request needs to reach a handler. */
export class SimMesh {
  readonly net: SimNetwork;
  readonly gossip: GossipRouter;
  readonly transports: SimTransport[] = [];
  /** The topic whose mesh stands for "connected peers" (every node subscribes to it). */
  peerTopic: string;

  constructor(net: SimNetwork, gossip: GossipRouter, peerTopic: string) {
    this.net = net;
    this.gossip = gossip;
    this.peerTopic = peerTopic;
  }

  join(node: SimNode): SimTransport {
    const t = new SimTransport(node, this);
    this.transports[node.index] = t;
    return t;
  }
}
