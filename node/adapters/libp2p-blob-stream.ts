// The blob stream (node/images/blob-stream.ts) over libp2p 3: one stream per transfer on
// /peerstack/blob/1.0.0. Request: one length-prefixed JSON {sha256, offset}. Answer: a
// length-prefixed JSON header {size} or {error}, then the bytes as length-prefixed frames of up to
// 256 KiB, then an empty frame (end). Flow control is yamux's: a slow reader slows the sender.
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream } from "@libp2p/utils";
import { BLOB_PROTOCOL, BlobUnavailableError, type BlobOpenResult, type BlobServer, type BlobStreamTransport } from "../images/blob-stream.ts";
import type { PeerstackLibp2p } from "./libp2p-host.ts";

const MAX_FRAME = 1024 * 1024;
const FRAME = 256 * 1024;
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
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME });
    let header: { size?: number; error?: string };
    try {
      await lp.write(enc.encode(JSON.stringify({ sha256, offset })), { signal });
      header = JSON.parse(dec.decode((await lp.read({ signal: signal ?? AbortSignal.timeout(30_000) })).subarray())) as typeof header;
    } catch (cause) {
      stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
      throw new BlobUnavailableError(peer, sha256, "stream failed", { cause });
    }
    if (header.error || typeof header.size !== "number") {
      await stream.close().catch(() => {});
      throw new BlobUnavailableError(peer, sha256, header.error ?? "bad header");
    }
    async function* chunks(): AsyncIterable<Uint8Array> {
      try {
        for (;;) {
          const frame = await lp.read({ signal });
          if (frame.byteLength === 0) break;
          yield frame.subarray();
        }
        await stream.close().catch(() => {});
      } catch (cause) {
        stream.abort(cause instanceof Error ? cause : new Error(String(cause)));
        throw new BlobUnavailableError(peer, sha256, "stream broke off", { cause });
      }
    }
    return { size: header.size, chunks: chunks() };
  }
}
