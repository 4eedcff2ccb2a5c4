// PUT /v2/images/{id}/file: streams the data into the blob store (size quota covered as it arrives,
// the disk reserve kept), then has the file inspected before the image may be used: a refused image
// goes `killed` with its reason in `status_reason`, its bits are removed, and it is never converted
// or served. Glance answers 413 both for a quota and for "Image storage media is full".
import type { FastifyRequest } from "fastify";
import type { Readable } from "node:stream";
import { BlobTooLargeError, StorageFullError, type BlobDigest, type BlobStore } from "../../node/images/blob-store.ts";
import { addHolder, IMAGE } from "../../node/images/records.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError, OverLimitError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { mebibytes, metered, SizeMeter, type ImageQuota } from "./quota.ts";

/** What an inspection of uploaded bits found: the guest-visible size, or why the image must not be used. */
export type ImageInspection = { virtualSize: number } | { refused: string };

/** Inspects a stored blob as its declared disk_format (node/main wires drivers/storage/image-check.ts). */
export type ImageInspector = (path: string, diskFormat: unknown) => Promise<ImageInspection>;

export interface UploadDeps {
  ctx: GatewayContext;
  blobs: BlobStore;
  maxBytes: number;
  inspect?: ImageInspector;
  quota?: ImageQuota;
  now: () => string;
}

/** Upload ids in progress on this node (a second PUT while the first still streams is 409). */
const uploading = new Set<string>();

export async function uploadImage(d: UploadDeps, req: FastifyRequest, r: CatalogRecord): Promise<void> {
  const { ctx } = d;
  if (r.status !== "queued" || uploading.has(r.id)) throw new ConflictError(`Image status transition from ${String(r.status)} to saving is not allowed`);
  const body = req.body as Readable | undefined;
  if (!body || typeof (body as Partial<Readable>)[Symbol.asyncIterator] !== "function") throw new InvalidRequestError("Image data must be sent as application/octet-stream.");
  // Glance refuses data before the formats are known: the format decides how the bits are checked.
  if (typeof r.disk_format !== "string" || typeof r.container_format !== "string") {
    body.resume();
    throw new InvalidRequestError("Properties disk_format, container_format must be set prior to saving data.");
  }
  const declared = Number(req.headers["content-length"]);
  const length = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  if (length !== undefined && length > d.maxBytes) {
    body.resume();
    throw new BlobTooLargeError(`image ${r.id}`, d.maxBytes);
  }
  const project = String(r.owner);
  const meter = d.quota ? new SizeMeter(d.quota, project) : undefined;
  uploading.add(r.id);
  try {
    // With a length, the whole size is covered (and the disk asked) before a byte is written.
    if (meter && length !== undefined) await meter.cover(length);
    await ctx.store.put(IMAGE, r.id, { status: "saving", updated_at: d.now() });
    let digest: BlobDigest;
    try {
      digest = await ingest(d, req, r, meter ? metered(body, meter) : body, length);
    } catch (err) {
      body.resume();
      if (ctx.store.get(IMAGE, r.id)) await ctx.store.put(IMAGE, r.id, { status: "queued", updated_at: d.now() });
      if (err instanceof StorageFullError) throw new OverLimitError(`Image storage media is full: ${err.message}`);
      throw err;
    }
    await finish(d, req, r, digest, meter);
  } catch (err) {
    await meter?.releaseAll();
    throw err;
  } finally {
    uploading.delete(r.id);
  }
}

async function ingest(d: UploadDeps, req: FastifyRequest, r: CatalogRecord, source: AsyncIterable<Uint8Array>, length: number | undefined): Promise<BlobDigest> {
  let lastLog = 0;
  return d.blobs.ingest(source, {
    what: `image ${r.id}`,
    maxBytes: d.maxBytes,
    ...(length !== undefined ? { expectedBytes: length } : {}),
    onProgress: (n) => {
      if (n - lastLog < 64 * 1024 * 1024) return;
      lastLog = n;
      req.log.info({ image: r.id, bytes: n }, "image upload progress");
    },
  });
}

/** Inspects the stored bits; active with sizes, or killed with the reason and the bits dropped. */
async function finish(d: UploadDeps, req: FastifyRequest, r: CatalogRecord, digest: BlobDigest, meter: SizeMeter | undefined): Promise<void> {
  const { ctx, blobs } = d;
  const dropBits = async () => {
    if (ctx.store.list(IMAGE, (x) => x.sha256 === digest.sha256 && x.id !== r.id).length === 0) await blobs.remove(digest.sha256);
  };
  if (!ctx.store.get(IMAGE, r.id)) {
    // Deleted while its data streamed in: keep nothing.
    await dropBits();
    throw new ConflictError(`Image ${r.id} was deleted during the upload`);
  }
  const inspection: ImageInspection = d.inspect ? await d.inspect(blobs.path(digest.sha256), r.disk_format) : { virtualSize: -1 };
  if ("refused" in inspection) {
    await dropBits();
    await ctx.store.put(IMAGE, r.id, { status: "killed", status_reason: inspection.refused, updated_at: d.now() });
    req.log.warn({ image: r.id, reason: inspection.refused }, "image refused");
    throw new InvalidRequestError(`Image ${r.id} was refused and killed: ${inspection.refused}`);
  }
  await meter?.settle(digest.size);
  await ctx.store.put(IMAGE, r.id, {
    status: "active",
    size: digest.size,
    ...(inspection.virtualSize >= 0 ? { virtual_size: inspection.virtualSize } : {}),
    checksum: digest.md5,
    os_hash_algo: "sha512",
    os_hash_value: digest.sha512,
    sha256: digest.sha256,
    updated_at: d.now(),
  });
  // The record holds the size rights now (returned when it is deleted), not this upload.
  if (meter) meter.taken = 0;
  await addHolder(ctx.store, r.id, ctx.node.id);
  req.log.info({ image: r.id, size: digest.size, mib: mebibytes(digest.size), sha256: digest.sha256 }, "image uploaded");
}
