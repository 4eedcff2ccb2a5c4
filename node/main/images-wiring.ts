// Binds images: the content-addressed blob store under <dataDir>/images, the blob stream over libp2p
// (/peerstack/blob/1.0.0, served to peers), the fetcher (the reconciler's ImageSource: pulls an image
// from a holder when not local) and the Glance plugin the API mounts. Orphaned blobs (images deleted
// elsewhere) are collected every few minutes. Logic stays in node/images and api-gateway/image.
import type { Logger } from "pino";
import { imageService } from "../../api-gateway/image/plugin.ts";
import type { ImageQuota } from "../../api-gateway/image/quota.ts";
import type { ImageInspector } from "../../api-gateway/image/upload.ts";
import { checkImage, UnsafeImageError } from "../../drivers/storage/image-check.ts";
import { localRunner } from "../../drivers/run.ts";
import type { ServicePlugin } from "../../api-gateway/service-stubs.ts";
import { Libp2pBlobStream } from "../adapters/libp2p-blob-stream.ts";
import type { PeerstackLibp2p } from "../adapters/libp2p-host.ts";
import { BlobStore } from "../images/blob-store.ts";
import { ImageFetcher } from "../images/fetcher.ts";
import { systemClock } from "../runtime/system.ts";
import type { CrdtStore } from "../store/crdt-store.ts";

export interface ImagesWiring {
  dataDir: string;
  host: PeerstackLibp2p;
  store: CrdtStore;
  log: Logger;
  /** How often blobs of deleted images are removed (default 5 min; 0 = never). */
  orphanSweepMs?: number;
  /** Blob directory (default <dataDir>/images), free bytes kept, largest virtual size accepted. */
  imagesDir?: string;
  reserveBytes?: number;
  maxVirtualBytes?: number;
  /** The escrow that keeps Glance's image_count_total / image_size_total. */
  quota?: ImageQuota;
}

/** Upload inspection with the real qemu-img (drivers/storage/image-check.ts); a refusal is a reason, not an error. */
export function imageInspector(maxVirtualBytes?: number): ImageInspector {
  return async (path, diskFormat) => {
    try {
      const c = await checkImage(localRunner, path, diskFormat, maxVirtualBytes === undefined ? {} : { maxVirtualBytes });
      return { virtualSize: c.virtualSize };
    } catch (err) {
      if (err instanceof UnsafeImageError) return { refused: err.reason };
      throw err;
    }
  };
}

export interface RunningImages {
  blobs: BlobStore;
  fetcher: ImageFetcher;
  /** services.image for the API. */
  service: ServicePlugin;
  stop(): void;
}

export function startImages(w: ImagesWiring): RunningImages {
  const blobs = new BlobStore(w.dataDir, { ...(w.imagesDir ? { root: w.imagesDir } : {}), ...(w.reserveBytes !== undefined ? { reserveBytes: w.reserveBytes } : {}) });
  const net = new Libp2pBlobStream(w.host);
  const fetcher = new ImageFetcher({}, { store: w.store, blobs, net, clock: systemClock, log: w.log });
  fetcher.start();
  const every = w.orphanSweepMs ?? 5 * 60_000;
  const sweep = every > 0 ? setInterval(() => void fetcher.collectOrphans().catch((err: unknown) => w.log.warn({ err: String(err) }, "image orphan sweep failed")), every) : undefined;
  sweep?.unref();
  return {
    blobs,
    fetcher,
    service: imageService({ blobs, fetcher, inspect: imageInspector(w.maxVirtualBytes), ...(w.quota ? { quota: w.quota } : {}) }),
    stop() {
      if (sweep) clearInterval(sweep);
    },
  };
}
