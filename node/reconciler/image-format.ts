// Which format the host opens an image as, from its catalog record: only an image that passed the
// upload checks (status active) is imported, and always with its declared format (never a probe).
import { qemuFormatOf, UnsafeImageError, type QemuImageFormat } from "../../drivers/storage/image-check.ts";
import type { CatalogRecord } from "../store/crdt-store.ts";

export function bootableFormat(image: CatalogRecord | undefined, imageId: string): QemuImageFormat {
  const what = `image "${imageId}"`;
  if (!image) throw new UnsafeImageError(what, "it is not in the catalog");
  if (image.status !== "active") throw new UnsafeImageError(what, `its status is ${String(image.status)}, not active`);
  return qemuFormatOf(image.disk_format, what);
}
