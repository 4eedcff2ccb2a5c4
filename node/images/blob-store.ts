// Content-addressed image bits on disk: `<dataDir>/images/sha256/<hex>` (or `<imagesDir>/sha256/<hex>`
// when the blobs live on another filesystem than the catalog). Writes go to a temp file
// renamed into place only once the digest is known (and, for fetched blobs, verified), so a file
// under sha256/ is always complete. Partial downloads live in `partial/<hex>` for resume. Every write
// stops while `reserveBytes` are still free, so image bits never fill the disk under the catalog.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, statfs } from "node:fs/promises";
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

/** Writing more would leave less than the reserve free on the image store's filesystem. */
export class StorageFullError extends PeerstackError {
  constructor(what: string, free: number, reserve: number) {
    super("STORAGE_FULL", `${what}: ${free} bytes free on the image store, and ${reserve} are kept in reserve`);
  }
}

export interface BlobStoreInit {
  /** Where the blobs live (default `<dataDir>/images`). */
  root?: string;
  /** Bytes left free on the store's filesystem: writes stop before this (default 1 GiB). */
  reserveBytes?: number;
}

/** Free space is asked again after this many bytes written (statfs is cheap, but not per chunk). */
const FREE_CHECK_EVERY = 16 * 1024 * 1024;

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
  readonly reserveBytes: number;
  private seq = 0;

  constructor(dataDir: string, init: BlobStoreInit = {}) {
    this.root = init.root ?? join(dataDir, "images");
    this.reserveBytes = init.reserveBytes ?? 1024 ** 3;
  }

  /** Bytes free to unprivileged writers on the store's filesystem. */
  async freeBytes(): Promise<number> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const fs = await statfs(this.root);
    return fs.bavail * fs.bsize;
  }

  /** StorageFullError unless `more` bytes can still be written above the reserve. */
  async ensureRoom(what: string, more: number): Promise<void> {
    const free = await this.freeBytes();
    if (free - more < this.reserveBytes) throw new StorageFullError(what, free, this.reserveBytes);
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
  async ingest(source: AsyncIterable<Uint8Array>, opts: { what?: string; maxBytes?: number; expectedBytes?: number; onProgress?: (bytes: number) => void } = {}): Promise<BlobDigest> {
    const what = opts.what ?? "image data";
    await mkdir(join(this.root, "sha256"), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, "tmp"), { recursive: true, mode: 0o700 });
    await this.ensureRoom(what, opts.expectedBytes ?? 0);
    const tmp = join(this.root, "tmp", `${process.pid}-${this.seq++}`);
    const fh = await open(tmp, "w", 0o600);
    const d = new Digester();
    let checkedAt = 0;
    try {
      for await (const chunk of source) {
        d.update(chunk);
        if (opts.maxBytes !== undefined && d.size > opts.maxBytes) throw new BlobTooLargeError(what, opts.maxBytes);
        if (d.size - checkedAt >= FREE_CHECK_EVERY) {
          checkedAt = d.size;
          await this.ensureRoom(what, chunk.byteLength);
        }
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
    const what = `fetching blob ${sha256}`;
    await this.ensureRoom(what, 0);
    const fh = await open(this.partialPath(sha256), offset === 0 ? "w" : "r+", 0o600);
    let pos = offset;
    let checkedAt = offset;
    try {
      await fh.truncate(offset);
      for await (const chunk of source) {
        if (pos - checkedAt >= FREE_CHECK_EVERY) {
          checkedAt = pos;
          await this.ensureRoom(what, chunk.byteLength);
        }
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
