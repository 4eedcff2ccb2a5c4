// Content-addressed image bits on disk: `<dataDir>/images/sha256/<hex>`. Writes go to a temp file
// renamed into place only once the digest is known (and, for fetched blobs, verified), so a file
// under sha256/ is always complete. Partial downloads live in `partial/<hex>` for resume.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { PeerstackError } from "../../protocol/errors.ts";

export interface BlobDigest {
  sha256: string;
  /** Glance `checksum`. */
  md5: string;
  /** Glance `os_hash_value` (os_hash_algo sha512). */
  sha512: string;
  size: number;
}

/** The bits read or fetched do not hash to what the image record says. */
export class ChecksumMismatchError extends PeerstackError {
  constructor(what: string, expected: string, got: string) {
    super("CHECKSUM_MISMATCH", `${what}: expected sha256 ${expected}, got ${got}`);
  }
}

/** An upload is larger than allowed. */
export class BlobTooLargeError extends PeerstackError {
  constructor(what: string, max: number) {
    super("OVER_LIMIT", `${what} exceeds the maximum image size of ${max} bytes`);
  }
}

const HEX = /^[0-9a-f]{64}$/;

export function isSha256(s: unknown): s is string {
  return typeof s === "string" && HEX.test(s);
}

class Digester {
  private readonly h: [Hash, Hash, Hash] = [createHash("sha256"), createHash("md5"), createHash("sha512")];
  size = 0;
  update(b: Uint8Array): void {
    for (const h of this.h) h.update(b);
    this.size += b.byteLength;
  }
  digest(): BlobDigest {
    return { sha256: this.h[0].digest("hex"), md5: this.h[1].digest("hex"), sha512: this.h[2].digest("hex"), size: this.size };
  }
}

export class BlobStore {
  readonly root: string;
  private seq = 0;

  constructor(dataDir: string) {
    this.root = join(dataDir, "images");
  }

  path(sha256: string): string {
    if (!isSha256(sha256)) throw new PeerstackError("INVALID_REQUEST", `not a sha256 digest: "${sha256}"`);
    return join(this.root, "sha256", sha256);
  }

  partialPath(sha256: string): string {
    if (!isSha256(sha256)) throw new PeerstackError("INVALID_REQUEST", `not a sha256 digest: "${sha256}"`);
    return join(this.root, "partial", sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return (await sizeOf(this.path(sha256))) !== undefined;
  }

  async size(sha256: string): Promise<number | undefined> {
    return sizeOf(this.path(sha256));
  }

  /** Bytes of a partial download already on disk (0 when none). */
  async partialSize(sha256: string): Promise<number> {
    return (await sizeOf(this.partialPath(sha256))) ?? 0;
  }

  /** Streams `source` to disk, hashing as it goes; the blob lands under its sha256. */
  async ingest(source: AsyncIterable<Uint8Array>, opts: { what?: string; maxBytes?: number; onProgress?: (bytes: number) => void } = {}): Promise<BlobDigest> {
    const what = opts.what ?? "image data";
    await mkdir(join(this.root, "sha256"), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, "tmp"), { recursive: true, mode: 0o700 });
    const tmp = join(this.root, "tmp", `${process.pid}-${this.seq++}`);
    const fh = await open(tmp, "w");
    const d = new Digester();
    try {
      for await (const chunk of source) {
        d.update(chunk);
        if (opts.maxBytes !== undefined && d.size > opts.maxBytes) throw new BlobTooLargeError(what, opts.maxBytes);
        await fh.write(chunk);
        opts.onProgress?.(d.size);
      }
      await fh.sync();
      await fh.close();
      const digest = d.digest();
      await rename(tmp, this.path(digest.sha256));
      return digest;
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Appends to the partial file of `sha256` at `offset` (truncating anything beyond it). */
  async appendPartial(sha256: string, offset: number, source: AsyncIterable<Uint8Array>, onChunk?: (total: number) => void): Promise<number> {
    await mkdir(join(this.root, "partial"), { recursive: true, mode: 0o700 });
    const fh = await open(this.partialPath(sha256), offset === 0 ? "w" : "r+");
    let pos = offset;
    try {
      await fh.truncate(offset);
      for await (const chunk of source) {
        await fh.write(chunk, 0, chunk.byteLength, pos);
        pos += chunk.byteLength;
        onChunk?.(pos);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    return pos;
  }

  /** Hashes the whole partial file; moves it into place if it is `sha256`, else deletes it and throws. */
  async finishPartial(sha256: string): Promise<BlobDigest> {
    const p = this.partialPath(sha256);
    const d = new Digester();
    for await (const chunk of createReadStream(p)) d.update(chunk as Buffer);
    const digest = d.digest();
    if (digest.sha256 !== sha256) {
      await rm(p, { force: true });
      throw new ChecksumMismatchError(`fetched blob ${sha256}`, sha256, digest.sha256);
    }
    await mkdir(join(this.root, "sha256"), { recursive: true, mode: 0o700 });
    await rename(p, this.path(sha256));
    return digest;
  }

  /** The blob's bytes from `offset`. */
  read(sha256: string, offset = 0, highWaterMark = 256 * 1024): Readable {
    return createReadStream(this.path(sha256), { start: offset, highWaterMark });
  }

  /** Digests of the complete blobs on disk. */
  async list(): Promise<string[]> {
    try {
      return (await readdir(join(this.root, "sha256"))).filter(isSha256).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  async removePartial(sha256: string): Promise<void> {
    await rm(this.partialPath(sha256), { force: true });
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
    await rm(this.partialPath(sha256), { force: true });
  }
}

async function sizeOf(p: string): Promise<number | undefined> {
  try {
    return (await stat(p)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
