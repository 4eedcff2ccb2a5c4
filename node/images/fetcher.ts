// Gets an image's bits onto this node: from the local blob store if held, else from a holder peer
// over a blob stream, resuming a partial file from where it stopped, verified against the record's
// sha256 before the blob is usable; then this node records itself as a holder. Also serves our
// blobs to peers. Implements the reconciler's ImageSource (node/reconciler/types.ts).
import type { Clock } from "../../protocol/clock.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import type { ImageSource } from "../reconciler/types.ts";
import { ChecksumMismatchError, isSha256, type BlobStore } from "./blob-store.ts";
import { BlobUnavailableError, type BlobOpenResult, type BlobStreamTransport } from "./blob-stream.ts";
import { addHolder, holders, IMAGE, IMAGE_LOCATION, type ImageRecordStore } from "./records.ts";

export interface ImageLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The image does not exist, has no bits yet, or no holder could deliver them. */
export class ImageUnavailableError extends PeerstackError {
  constructor(imageId: string, reason: string, options?: { cause?: unknown }) {
    super("IMAGE_UNAVAILABLE", `image "${imageId}": ${reason}`, options);
  }
}

export interface FetcherComponents {
  store: ImageRecordStore;
  blobs: BlobStore;
  net: BlobStreamTransport;
  clock: Clock;
  log: ImageLog;
}

export interface FetcherInit {
  /** Progress log every this many bytes (default 16 MiB). */
  progressEvery?: number;
  /** Attempts per holder before trying the next one (resume between them). Default 3. */
  attempts?: number;
}

export class ImageFetcher implements ImageSource {
  private readonly c: FetcherComponents;
  private readonly progressEvery: number;
  private readonly attempts: number;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(init: FetcherInit, c: FetcherComponents) {
    this.c = c;
    this.progressEvery = init.progressEvery ?? 16 * 1024 * 1024;
    this.attempts = init.attempts ?? 3;
  }

  /** Serves held blobs to peers. */
  start(): void {
    this.c.net.serve(async (from, sha256, offset): Promise<BlobOpenResult | undefined> => {
      if (!isSha256(sha256)) return undefined;
      const size = await this.c.blobs.size(sha256);
      if (size === undefined) return undefined;
      // A requester whose partial is longer than the blob learns the size and starts over.
      if (offset > size) return { size, chunks: (async function* () {})() };
      this.c.log.info({ peer: from, sha256, offset, size }, "serving image blob");
      return { size, chunks: this.c.blobs.read(sha256, offset) };
    });
  }

  async localPath(imageId: string, signal?: AbortSignal): Promise<string> {
    let p = this.inflight.get(imageId);
    if (!p) {
      p = this.fetch(imageId, signal).finally(() => this.inflight.delete(imageId));
      this.inflight.set(imageId, p);
    }
    return p;
  }

  /**
   * Direct kernel boot from Glance's standard properties: `kernel_id` / `ramdisk_id` name other
   * images (fetched like any image), `os_command_line` is the kernel command line.
   */
  async kernel(imageId: string): Promise<{ path: string; initrd?: string; cmdline?: string } | undefined> {
    const props = (this.c.store.get(IMAGE, imageId)?.properties ?? {}) as Record<string, unknown>;
    if (typeof props.kernel_id !== "string" || props.kernel_id === "") return undefined;
    const path = await this.localPath(props.kernel_id);
    const initrd = typeof props.ramdisk_id === "string" && props.ramdisk_id !== "" ? await this.localPath(props.ramdisk_id) : undefined;
    const cmdline = typeof props.os_command_line === "string" ? props.os_command_line : undefined;
    return { path, ...(initrd ? { initrd } : {}), ...(cmdline ? { cmdline } : {}) };
  }

  /** Removes local blobs no live image record refers to (deleted on another node); returns their digests. */
  async collectOrphans(): Promise<string[]> {
    const { store, blobs, net, log } = this.c;
    const live = new Set(store.list(IMAGE).map((r) => r.sha256).filter(isSha256));
    const removed: string[] = [];
    for (const sha of await blobs.list()) {
      if (live.has(sha)) continue;
      await blobs.remove(sha);
      removed.push(sha);
    }
    for (const r of store.list(IMAGE_LOCATION, (x) => x.node === net.self && !store.get(IMAGE, String(x.image_id)))) await store.remove(IMAGE_LOCATION, r.id);
    if (removed.length > 0) log.info({ removed }, "removed image blobs of deleted images");
    return removed;
  }

  private async fetch(imageId: string, signal?: AbortSignal): Promise<string> {
    const { store, blobs, net, log } = this.c;
    const img = store.get(IMAGE, imageId);
    if (!img) throw new ImageUnavailableError(imageId, "no such image");
    const sha256 = img.sha256;
    if (!isSha256(sha256)) throw new ImageUnavailableError(imageId, `no data (status ${String(img.status)})`);
    if (await blobs.has(sha256)) {
      await addHolder(store, imageId, net.self);
      return blobs.path(sha256);
    }
    const peers = holders(store, imageId).filter((n) => n !== net.self);
    if (peers.length === 0) throw new ImageUnavailableError(imageId, "no node holds its data");
    let last: unknown;
    for (const peer of peers) {
      for (let attempt = 1; attempt <= this.attempts; attempt++) {
        signal?.throwIfAborted();
        try {
          await this.pull(imageId, sha256, peer, signal);
          const digest = await blobs.finishPartial(sha256);
          log.info({ image: imageId, sha256, size: digest.size, peer }, "image fetched and verified");
          await addHolder(store, imageId, net.self);
          return blobs.path(sha256);
        } catch (err) {
          last = err;
          log.warn({ image: imageId, peer, attempt, err: (err as Error).message }, "image fetch failed");
          if (err instanceof BlobUnavailableError && /not held/.test(err.message)) break;
        }
      }
    }
    throw new ImageUnavailableError(imageId, "no holder delivered its data", { cause: last });
  }

  private async pull(imageId: string, sha256: string, peer: string, signal?: AbortSignal): Promise<void> {
    const { blobs, net, clock, log } = this.c;
    const offset = await blobs.partialSize(sha256);
    const started = clock.now();
    const r = await net.open(peer, sha256, offset, signal);
    if (offset > r.size) {
      await blobs.removePartial(sha256);
      throw new ChecksumMismatchError(`partial blob ${sha256}`, `at most ${r.size} bytes`, `${offset} bytes`);
    }
    log.info({ image: imageId, sha256, peer, offset, size: r.size, resumed: offset > 0 }, offset > 0 ? "resuming image fetch" : "fetching image");
    let next = offset + this.progressEvery;
    const end = await blobs.appendPartial(sha256, offset, r.chunks, (pos) => {
      if (pos < next) return;
      next = pos + this.progressEvery;
      const sec = Math.max(1, clock.now() - started) / 1000;
      log.info({ image: imageId, peer, bytes: pos, size: r.size, pct: Math.floor((pos / r.size) * 100), mibPerSec: +((pos - offset) / 1048576 / sec).toFixed(1) }, "image fetch progress");
    });
    if (end !== r.size) throw new BlobUnavailableError(peer, sha256, `stream ended at ${end} of ${r.size} bytes`);
  }
}
