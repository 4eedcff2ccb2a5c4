// Idle request streams per (peer, protocol), for Libp2pTransport. A stream is in the pool only
// between two requests; one in use belongs to its request alone, so concurrent requests to a peer
// use separate streams. A stream that is not fully open (either end closing, reset, aborted) is
// never handed out; idle ones are closed after `idleMs` (well below the server's idle timeout, so a
// request is never written onto a stream the server is closing).
import type { Stream } from "@libp2p/interface";
import { lpStream, type LengthPrefixedStream } from "@libp2p/utils";

export interface PooledStream {
  readonly stream: Stream;
  readonly lp: LengthPrefixedStream<Stream>;
  timer?: ReturnType<typeof setTimeout>;
}

export interface StreamPoolOptions {
  /** Idle streams kept per (peer, protocol); more are closed when returned. */
  maxIdle: number;
  /** An idle stream is closed after this long. */
  idleMs: number;
  maxDataLength: number;
}

/** Open both ways, locally and as far as we know remotely: safe to write a request on. */
export function usable(stream: Stream): boolean {
  return (
    stream.status === "open" &&
    stream.writeStatus === "writable" &&
    stream.readStatus === "readable" &&
    stream.remoteWriteStatus === "writable" &&
    stream.remoteReadStatus === "readable"
  );
}

function closeQuietly(stream: Stream): void {
  if (stream.status !== "open") return;
  stream.close().catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))));
}

export class StreamPool {
  private readonly opts: StreamPoolOptions;
  private readonly idle = new Map<string, Map<string, PooledStream[]>>();

  constructor(opts: StreamPoolOptions) {
    this.opts = opts;
  }

  /** Wraps a freshly opened stream (one length-prefixed reader per stream, kept across requests). */
  wrap(stream: Stream): PooledStream {
    return { stream, lp: lpStream(stream, { maxDataLength: this.opts.maxDataLength }) };
  }

  /** The most recently returned usable idle stream, or undefined; unusable ones met are dropped. */
  take(peer: string, protocol: string): PooledStream | undefined {
    const list = this.idle.get(peer)?.get(protocol);
    while (list && list.length > 0) {
      const s = list.pop() as PooledStream;
      clearTimeout(s.timer);
      s.timer = undefined;
      if (usable(s.stream)) return s;
      closeQuietly(s.stream);
    }
    return undefined;
  }

  /** Returns a stream after a complete request/answer; closes it instead if unusable or the pool is full. */
  put(peer: string, protocol: string, s: PooledStream): void {
    if (!usable(s.stream)) return closeQuietly(s.stream);
    let byProto = this.idle.get(peer);
    if (!byProto) this.idle.set(peer, (byProto = new Map()));
    let list = byProto.get(protocol);
    if (!list) byProto.set(protocol, (list = []));
    if (list.length >= this.opts.maxIdle) return closeQuietly(s.stream);
    const l = list;
    s.timer = setTimeout(() => {
      const i = l.indexOf(s);
      if (i >= 0) l.splice(i, 1);
      closeQuietly(s.stream);
    }, this.opts.idleMs);
    s.timer.unref?.();
    l.push(s);
  }

  /** Forgets (and closes) every idle stream to a peer, e.g. when its connection closed. */
  dropPeer(peer: string): void {
    const byProto = this.idle.get(peer);
    if (!byProto) return;
    this.idle.delete(peer);
    for (const list of byProto.values()) {
      for (const s of list) {
        clearTimeout(s.timer);
        closeQuietly(s.stream);
      }
    }
  }

  /** Idle streams held, for tests. */
  size(peer?: string, protocol?: string): number {
    let n = 0;
    for (const [p, byProto] of this.idle) {
      if (peer != null && p !== peer) continue;
      for (const [proto, list] of byProto) if (protocol == null || proto === protocol) n += list.length;
    }
    return n;
  }

  /** Closes everything (transport shutdown). */
  clear(): void {
    for (const peer of [...this.idle.keys()]) this.dropPeer(peer);
  }
}
