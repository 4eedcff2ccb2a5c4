// The blob stream (node/images/blob-stream.ts) over libp2p 3: one stream per transfer on
// /peerstack/blob/1.0.0. Request: one length-prefixed JSON {sha256, offset}. Answer: a
// length-prefixed JSON header {size} or {error}, then the bytes as length-prefixed frames of up to
// 256 KiB, then an empty frame (end).
//
// Backpressure: the receiving side does not use @libp2p/utils' lpStream/byteStream (they append
// every incoming message to their own 4 MiB buffer and never pause the stream, so a fetcher that
// waits on its disk writes overflowed it). FrameReader below decodes frames from the stream's
// 'message' events and pause()s the stream while more than HIGH_WATER bytes wait unread; a paused
// yamux stream stops granting window, so the sender stops after at most one receive window (yamux's
// maximum is 16 MiB), which lands in the stream's own read buffer. When the reader has drained to
// LOW_WATER it resume()s: that data moves here and yamux grants a new window at once, so a
// receiver holds at most ~2 windows + HIGH_WATER (~34 MiB) per transfer, whatever the blob's size.
import type { Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream } from "@libp2p/utils";
import { BLOB_PROTOCOL, BlobUnavailableError, type BlobOpenResult, type BlobServer, type BlobStreamTransport } from "../images/blob-stream.ts";
import type { PeerstackLibp2p } from "./libp2p-host.ts";

const MAX_FRAME = 1024 * 1024;
const FRAME = 256 * 1024;
/** Pause the stream when this many bytes wait unread in the FrameReader. */
export const HIGH_WATER = 2 * 1024 * 1024;
/** Resume it when the reader has consumed down to this many. */
export const LOW_WATER = 512 * 1024;
/**
 * What may land in the stream's own read buffer while it is paused: the window the sender was
 * granted before the pause (yamux's maxStreamWindowSize, 16 MiB by default) plus a frame. Not a
 * "bigger buffer" fix: the buffer is bounded by the window because the pause stops window updates.
 */
const PAUSED_READ_BUFFER = 16 * 1024 * 1024 + 2 * MAX_FRAME;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class Libp2pBlobStream implements BlobStreamTransport {
  readonly self: string;
  private readonly node: PeerstackLibp2p;

  constructor(node: PeerstackLibp2p) {
    this.node = node;
    this.self = node.peerId.toString();
  }

  serve(server: BlobServer): void {
    void this.node.handle(
      BLOB_PROTOCOL,
      async (stream, connection) => {
        const lp = lpStream(stream, { maxDataLength: MAX_FRAME });
        try {
          const req = JSON.parse(dec.decode((await lp.read({ signal: AbortSignal.timeout(30_000) })).subarray())) as { sha256?: unknown; offset?: unknown };
          const offset = typeof req.offset === "number" && Number.isSafeInteger(req.offset) && req.offset >= 0 ? req.offset : -1;
          const r = typeof req.sha256 === "string" && offset >= 0 ? await server(connection.remotePeer.toString(), req.sha256, offset) : undefined;
          if (!r) {
            await lp.write(enc.encode(JSON.stringify({ error: "not held" })));
            await stream.close();
            return;
          }
          await lp.write(enc.encode(JSON.stringify({ size: r.size })));
          for await (const chunk of r.chunks) {
            for (let i = 0; i < chunk.byteLength; i += FRAME) await lp.write(chunk.subarray(i, i + FRAME));
          }
          await lp.write(new Uint8Array(0));
          await stream.close();
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      },
      { maxInboundStreams: 64, maxOutboundStreams: 64 },
    );
  }

  async open(peer: string, sha256: string, offset: number, signal?: AbortSignal): Promise<BlobOpenResult> {
    const stream = await this.node.dialProtocol(peerIdFromString(peer), BLOB_PROTOCOL, { signal }).catch((cause: unknown) => {
      throw new BlobUnavailableError(peer, sha256, "cannot open a stream", { cause });
    });
    const reader = new FrameReader(stream, MAX_FRAME);
    let header: { size?: number; error?: string };
    try {
      if (!stream.send(lengthPrefixed(enc.encode(JSON.stringify({ sha256, offset }))))) await stream.onDrain({ signal });
      header = JSON.parse(dec.decode(await reader.read(signal ?? AbortSignal.timeout(30_000)))) as typeof header;
    } catch (cause) {
      reader.detach();
      stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
      throw new BlobUnavailableError(peer, sha256, "stream failed", { cause });
    }
    if (header.error || typeof header.size !== "number") {
      reader.detach();
      await stream.close().catch(() => {});
      throw new BlobUnavailableError(peer, sha256, header.error ?? "bad header");
    }
    async function* chunks(): AsyncIterable<Uint8Array> {
      try {
        for (;;) {
          const frame = await reader.read(signal);
          if (frame.byteLength === 0) break;
          yield frame;
        }
        reader.detach();
        await stream.close().catch(() => {});
      } catch (cause) {
        reader.detach();
        stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
        throw new BlobUnavailableError(peer, sha256, "stream broke off", { cause });
      } finally {
        // The consumer stopped early (return()): drop the stream rather than leave it paused.
        if (reader.attached) {
          reader.detach();
          stream.abort(new Error("blob reader stopped early"));
        }
      }
    }
    return { size: header.size, chunks: chunks() };
  }
}

function lengthPrefixed(data: Uint8Array): Uint8Array {
  const head: number[] = [];
  let n = data.byteLength;
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  head.push(n);
  const out = new Uint8Array(head.length + data.byteLength);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}

/**
 * Reads varint-length-prefixed frames from a libp2p stream with backpressure: incoming messages
 * queue here, and the stream is paused while more than HIGH_WATER bytes are queued.
 */
export class FrameReader {
  attached = true;
  /** Largest number of bytes queued here at once (for tests). */
  maxQueued = 0;
  private readonly stream: Stream;
  private readonly maxFrame: number;
  private readonly chunks: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private resuming = false;

  constructor(stream: Stream, maxFrame: number) {
    this.stream = stream;
    this.maxFrame = maxFrame;
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_READ_BUFFER);
    stream.addEventListener("message", this.onMessage);
    stream.addEventListener("close", this.onClose);
    stream.addEventListener("remoteCloseWrite", this.onEnd);
  }

  private readonly onMessage = (evt: { data: Uint8Array | Iterable<Uint8Array> }): void => {
    if (evt.data instanceof Uint8Array) this.push(evt.data);
    else for (const c of evt.data) this.push(c);
    this.maxQueued = Math.max(this.maxQueued, this.queued);
    // Not while resume() dispatches the paused data: it would re-enable yamux's window updates
    // after our pause (sendResume runs after the dispatch) and leave the stream unthrottled.
    if (!this.resuming) this.maybePause();
    this.signal();
  };

  private maybePause(): void {
    if (this.queued > HIGH_WATER && this.stream.readStatus === "readable") this.stream.pause();
  }

  /** Lets the data that arrived while paused in, and the window open again. */
  private resume(): void {
    this.resuming = true;
    try {
      this.stream.resume();
    } finally {
      this.resuming = false;
    }
    this.maybePause();
  }

  private readonly onClose = (evt: { error?: Error }): void => {
    if (evt.error) this.failure ??= evt.error;
    this.ended = true;
    this.signal();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.signal();
  };

  private push(c: Uint8Array): void {
    if (c.byteLength === 0) return;
    this.chunks.push(c);
    this.queued += c.byteLength;
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stream.removeEventListener("message", this.onMessage);
    this.stream.removeEventListener("close", this.onClose);
    this.stream.removeEventListener("remoteCloseWrite", this.onEnd);
    this.chunks.length = 0;
    this.queued = 0;
  }

  /** The next frame's payload; throws when the stream ends or fails before a whole frame. */
  async read(signal?: AbortSignal): Promise<Uint8Array> {
    for (;;) {
      const frame = this.tryFrame();
      if (frame) {
        if (this.queued <= LOW_WATER && this.stream.readStatus === "paused") this.resume();
        return frame;
      }
      if (this.failure) throw this.failure;
      // Not a whole frame queued (so at most one frame, less than HIGH_WATER): let paused data in.
      if (this.stream.readStatus === "paused") {
        this.resume();
        continue;
      }
      if (this.ended && this.stream.readBufferLength === 0) throw new Error(`stream ended with ${this.queued} bytes of an unfinished frame`);
      await this.waitForData(signal);
    }
  }

  private waitForData(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined;
        reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }

  /** Decodes one frame from the queue, or undefined when it is not all here yet. */
  private tryFrame(): Uint8Array | undefined {
    let len = 0;
    let i = 0;
    for (;;) {
      if (i >= this.queued) return undefined;
      if (i >= 4) throw new Error("frame length varint too long");
      const b = this.peek(i);
      len += (b & 0x7f) * 2 ** (7 * i);
      i++;
      if ((b & 0x80) === 0) break;
    }
    if (len > this.maxFrame) throw new Error(`frame of ${len} bytes exceeds ${this.maxFrame}`);
    if (this.queued < i + len) return undefined;
    this.take(i);
    return this.take(len);
  }

  private peek(at: number): number {
    for (const c of this.chunks) {
      if (at < c.byteLength) return c[at];
      at -= c.byteLength;
    }
    throw new RangeError("peek past the queue");
  }

  private take(n: number): Uint8Array {
    this.queued -= n;
    const first = this.chunks[0];
    if (n === 0) return new Uint8Array(0);
    if (first.byteLength >= n) {
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const k = Math.min(c.byteLength, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (k === c.byteLength) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
