// Bulk transfer between nodes: ask a peer for blob <sha256> from <offset>, get its bytes as a
// stream. The libp2p implementation is node/adapters/libp2p-blob-stream.ts; tests use the
// in-memory pair below.
import { PeerstackError } from "../../protocol/errors.ts";

export const BLOB_PROTOCOL = "/peerstack/blob/1.0.0";

export interface BlobOpenResult {
  /** Total size of the blob (not of the remaining part). */
  size: number;
  /** Bytes from the requested offset to the end. */
  chunks: AsyncIterable<Uint8Array>;
}

/** Serves our blobs: undefined when we do not hold `sha256`. */
export type BlobServer = (from: string, sha256: string, offset: number) => Promise<BlobOpenResult | undefined>;

export interface BlobStreamTransport {
  readonly self: string;
  open(peer: string, sha256: string, offset: number, signal?: AbortSignal): Promise<BlobOpenResult>;
  serve(server: BlobServer): void;
}

/** The peer does not hold the blob (or cannot be reached, or broke off). */
export class BlobUnavailableError extends PeerstackError {
  constructor(peer: string, sha256: string, reason: string, options?: { cause?: unknown }) {
    super("BLOB_UNAVAILABLE", `blob ${sha256} from node "${peer}": ${reason}`, options);
  }
}

/** In-memory network of blob transports for unit tests; `cutAfter` breaks a transfer mid-way. */
export class MemoryBlobNet {
  private readonly servers = new Map<string, BlobServer>();
  /** When set, the next transfer fails after this many bytes (then resets). */
  cutAfter: number | undefined;
  /** When set, corrupts byte `corruptAt` of the next transfer's stream (blob offset). */
  corruptAt: number | undefined;

  node(self: string): BlobStreamTransport {
    return {
      self,
      serve: (server) => void this.servers.set(self, server),
      open: async (peer, sha256, offset) => {
        const server = this.servers.get(peer);
        const r = server ? await server(self, sha256, offset) : undefined;
        if (!r) throw new BlobUnavailableError(peer, sha256, "not held");
        const cut = this.cutAfter;
        const corrupt = this.corruptAt;
        this.cutAfter = undefined;
        this.corruptAt = undefined;
        return { size: r.size, chunks: wrap(r.chunks, offset, peer, sha256, cut, corrupt) };
      },
    };
  }
}

async function* wrap(src: AsyncIterable<Uint8Array>, offset: number, peer: string, sha256: string, cut?: number, corrupt?: number): AsyncIterable<Uint8Array> {
  let sent = 0;
  for await (const c of src) {
    const chunk = new Uint8Array(c);
    if (corrupt !== undefined && corrupt >= offset + sent && corrupt < offset + sent + chunk.byteLength) chunk[corrupt - offset - sent] ^= 0xff;
    if (cut !== undefined && sent + chunk.byteLength > cut) {
      yield chunk.subarray(0, cut - sent);
      throw new BlobUnavailableError(peer, sha256, "stream reset");
    }
    sent += chunk.byteLength;
    yield chunk;
  }
}
