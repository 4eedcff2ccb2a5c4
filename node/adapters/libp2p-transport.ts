// The Transport contract (node/mesh/transport.ts) over a libp2p host: gossip through gossipsub
// (signed, so `from` is the verified signer), requests as one length-prefixed message each way on a
// fresh stream. Node ids are peer ids.
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream } from "@libp2p/utils";
import { PeerUnreachableError, type GossipMessage, type RequestHandler, type RequestOptions, type Transport } from "../mesh/transport.ts";
import type { PeerstackLibp2p } from "./libp2p-host.ts";

const MAX_MESSAGE = 64 * 1024 * 1024;

export interface TransportCounters {
  gossipIn: number;
  gossipOut: number;
  requestsIn: number;
  requestsOut: number;
  bytesIn: number;
  bytesOut: number;
}

export class Libp2pTransport implements Transport {
  readonly self: string;
  readonly counters: TransportCounters = { gossipIn: 0, gossipOut: 0, requestsIn: 0, requestsOut: 0, bytesIn: 0, bytesOut: 0 };
  private readonly node: PeerstackLibp2p;
  private readonly subs = new Map<string, Set<(msg: GossipMessage) => void>>();
  private readonly missed = new Map<string, number>();

  constructor(node: PeerstackLibp2p) {
    this.node = node;
    this.self = node.peerId.toString();
    node.services.pubsub.addEventListener("message", (evt) => {
      const msg = evt.detail;
      const handlers = this.subs.get(msg.topic);
      // StrictSign: unsigned messages never get here; `from` is the key that signed.
      if (!handlers || msg.type !== "signed") return;
      this.counters.gossipIn++;
      this.counters.bytesIn += msg.data.byteLength;
      for (const fn of handlers) fn({ from: msg.from.toString(), data: msg.data });
    });
  }

  async publish(topic: string, data: Uint8Array): Promise<void> {
    this.counters.gossipOut++;
    this.counters.bytesOut += data.byteLength;
    await this.node.services.pubsub.publish(topic, data);
  }

  subscribe(topic: string, handler: (msg: GossipMessage) => void): () => void {
    let set = this.subs.get(topic);
    if (!set) {
      this.subs.set(topic, (set = new Set()));
      this.node.services.pubsub.subscribe(topic);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  handle(protocol: string, handler: RequestHandler): void {
    void this.node.handle(
      protocol,
      async (stream, connection) => {
        const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE });
        try {
          const req = (await lp.read({ signal: AbortSignal.timeout(30_000) })).subarray();
          this.counters.requestsIn++;
          this.counters.bytesIn += req.byteLength;
          const answer = await handler(connection.remotePeer.toString(), req);
          this.counters.bytesOut += answer.byteLength;
          await lp.write(answer, { signal: AbortSignal.timeout(30_000) });
          await stream.close();
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      },
      { maxInboundStreams: 256, maxOutboundStreams: 256 },
    );
  }

  peers(): string[] {
    return this.node.getPeers().map((p) => p.toString());
  }

  async request(peer: string, protocol: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    const signals = [opts.signal, opts.timeoutMs != null ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter((s): s is AbortSignal => s != null);
    const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
    this.counters.requestsOut++;
    this.counters.bytesOut += data.byteLength;
    let stream;
    try {
      // Optimistic multistream-select: the protocol name goes out with the request (one round trip, not two).
      stream = await this.node.dialProtocol(peerIdFromString(peer), protocol, { signal, negotiateFully: false });
    } catch (cause) {
      throw new PeerUnreachableError(peer, protocol, "cannot open a stream", { cause });
    }
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE });
      await lp.write(data, { signal });
      const answer = (await lp.read({ signal })).subarray();
      this.counters.bytesIn += answer.byteLength;
      await stream.close().catch(() => {});
      return answer;
    } catch (cause) {
      stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
      throw new PeerUnreachableError(peer, protocol, signal?.aborted ? "no answer in time" : "stream failed", { cause });
    }
  }

  /**
   * Pings every connected peer; a peer that misses `misses` checks in a row is hung up on. A cut
   * link leaves TCP connections open for minutes (and after the heal retransmission backoff delays
   * them further); closing them lets the redial loop open fresh ones as soon as the link is back.
   */
  async checkConnections(timeoutMs: number, misses = 2): Promise<string[]> {
    const dropped: string[] = [];
    await Promise.all(
      this.node.getPeers().map(async (peer) => {
        const id = peer.toString();
        try {
          await this.node.services.ping.ping(peer, { signal: AbortSignal.timeout(timeoutMs) });
          this.missed.delete(id);
        } catch {
          const n = (this.missed.get(id) ?? 0) + 1;
          this.missed.set(id, n);
          if (n >= misses) {
            this.missed.delete(id);
            dropped.push(id);
            await this.node.hangUp(peer).catch(() => {});
          }
        }
      }),
    );
    return dropped;
  }

  /** Dials a peer by multiaddr (joining the mesh); resolves to its peer id. */
  async dial(addr: string, timeoutMs = 5000): Promise<string> {
    const { multiaddr } = await import("@multiformats/multiaddr");
    const conn = await this.node.dial(multiaddr(addr), { signal: AbortSignal.timeout(timeoutMs) });
    return conn.remotePeer.toString();
  }
}
