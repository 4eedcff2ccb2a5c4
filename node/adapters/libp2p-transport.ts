// The Transport contract (node/mesh/transport.ts) over a libp2p host: gossip through gossipsub
// (signed, so `from` is the verified signer), requests as one length-prefixed message each way.
// Streams are reused: the client keeps idle streams per (peer, protocol) (stream-pool.ts) and the
// server answers requests on a stream in order until the remote closes it or it idles out. Node ids
// are peer ids.
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream } from "@libp2p/utils";
import { PeerUnreachableError, type GossipMessage, type RequestHandler, type RequestOptions, type Transport } from "../mesh/transport.ts";
import type { PeerstackLibp2p } from "./libp2p-host.ts";
import { StreamPool, type PooledStream } from "./stream-pool.ts";

const MAX_MESSAGE = 64 * 1024 * 1024;
/** Server: the first request on a new stream must arrive within this; each answer is written within it. */
const REQUEST_MS = 30_000;
/** Server: a stream with no next request for this long is closed. */
const SERVER_IDLE_MS = 60_000;
/** Client: idle pooled streams are closed after this (well below SERVER_IDLE_MS). */
const CLIENT_IDLE_MS = 10_000;
/** Client: idle streams kept per (peer, protocol). */
const MAX_IDLE_PER_PEER = 8;
const UNSENT = Symbol("unsent");

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
  private readonly pool = new StreamPool({ maxIdle: MAX_IDLE_PER_PEER, idleMs: CLIENT_IDLE_MS, maxDataLength: MAX_MESSAGE });

  constructor(node: PeerstackLibp2p) {
    this.node = node;
    this.self = node.peerId.toString();
    node.addEventListener("peer:disconnect", (evt) => this.pool.dropPeer(evt.detail.toString()));
    node.addEventListener("stop", () => this.pool.clear());
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
        const from = connection.remotePeer.toString();
        const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE });
        try {
          // Requests in order on this stream until the remote closes it (an old peer closes after one
          // answer) or it idles out.
          for (let first = true; ; first = false) {
            let req: Uint8Array;
            try {
              req = (await lp.read({ signal: AbortSignal.timeout(first ? REQUEST_MS : SERVER_IDLE_MS) })).subarray();
            } catch (err) {
              if (!first && stream.status === "open") {
                // Remote closed its end, or idle too long: close ours.
                await stream.close();
                return;
              }
              throw err;
            }
            this.counters.requestsIn++;
            this.counters.bytesIn += req.byteLength;
            const answer = await handler(from, req);
            this.counters.bytesOut += answer.byteLength;
            await lp.write(answer, { signal: AbortSignal.timeout(REQUEST_MS) });
          }
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
    const pooled = this.pool.take(peer, protocol);
    if (pooled) {
      const answer = await this.exchange(pooled, peer, protocol, data, signal, true);
      if (answer !== UNSENT) return answer;
    }
    let s: PooledStream;
    try {
      s = this.pool.wrap(await this.node.dialProtocol(peerIdFromString(peer), protocol, { signal, negotiateFully: false }));
    } catch (cause) {
      throw new PeerUnreachableError(peer, protocol, "cannot open a stream", { cause });
    }
    return (await this.exchange(s, peer, protocol, data, signal, false)) as Uint8Array;
  }

  /**
   * One request and its answer on `s`; the stream goes back to the pool after a complete answer and
   * is aborted on any error. On a reused stream, UNSENT when the request provably never reached the
   * handler (the caller dials fresh): the write found the stream closing (nothing sent), or the
   * server closed its end gracefully without answering — an old peer closes after one answer, and
   * ours closes only when its read ended (remote close, idle timeout), never after reading a
   * request. Anything else is an error: a request that may have run is never resent (requests are
   * not all idempotent).
   */
  private async exchange(s: PooledStream, peer: string, protocol: string, data: Uint8Array, signal: AbortSignal | undefined, reused: boolean): Promise<Uint8Array | typeof UNSENT> {
    try {
      await s.lp.write(data, { signal });
    } catch (cause) {
      abort(s, cause);
      if (reused && !signal?.aborted && errName(cause) === "StreamStateError") return UNSENT;
      throw failure(peer, protocol, signal, cause);
    }
    let answer: Uint8Array;
    try {
      answer = (await s.lp.read({ signal })).subarray();
    } catch (cause) {
      const unanswered = reused && !signal?.aborted && errName(cause) === "UnexpectedEOFError" && s.stream.remoteWriteStatus === "closed" && s.stream.status === "open";
      abort(s, cause);
      if (unanswered) return UNSENT;
      throw failure(peer, protocol, signal, cause);
    }
    this.counters.bytesIn += answer.byteLength;
    this.pool.put(peer, protocol, s);
    return answer;
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

function abort(s: PooledStream, cause: unknown): void {
  s.stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
}

function errName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function failure(peer: string, protocol: string, signal: AbortSignal | undefined, cause: unknown): PeerUnreachableError {
  return new PeerUnreachableError(peer, protocol, signal?.aborted ? "no answer in time" : "stream failed", { cause });
}
