// Image records in the CRDT store. `image` {name, status, disk_format, container_format, visibility,
// owner, min_disk, min_ram, protected, size, checksum, os_hash_algo, os_hash_value, sha256, tags,
// properties, created_at, updated_at}. Holders are one `image_location` record per (image, node),
// id `<image>:<node>` {image_id, node}: concurrent holders never overwrite each other (an LWW list
// would lose one).
import type { CrdtStore, CatalogRecord } from "../store/crdt-store.ts";

export const IMAGE = "image";
export const IMAGE_LOCATION = "image_location";

export type ImageRecordStore = Pick<CrdtStore, "put" | "remove" | "get" | "list">;

export function holders(store: ImageRecordStore, imageId: string): string[] {
  return store.list(IMAGE_LOCATION, (r) => r.image_id === imageId).map((r) => String(r.node)).sort();
}

export async function addHolder(store: ImageRecordStore, imageId: string, node: string): Promise<void> {
  if (!store.get(IMAGE_LOCATION, `${imageId}:${node}`)) await store.put(IMAGE_LOCATION, `${imageId}:${node}`, { image_id: imageId, node });
}

export async function removeHolders(store: ImageRecordStore, imageId: string): Promise<void> {
  for (const r of store.list(IMAGE_LOCATION, (x) => x.image_id === imageId)) await store.remove(IMAGE_LOCATION, r.id);
}

export function imageRecord(store: ImageRecordStore, id: string): CatalogRecord | undefined {
  return store.get(IMAGE, id);
}
