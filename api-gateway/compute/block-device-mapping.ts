// block_device_mapping_v2 on POST /servers. Boot from volume is not implemented, so every mapping is
// refused with a 400 naming what is unsupported, except the one that changes nothing: the image itself
// as the local root disk (source_type image, destination_type local, boot_index 0). Never accepted and ignored.
import { InvalidRequestError } from "../errors.ts";

type Obj = Record<string, unknown>;

const TRIVIAL_KEYS = new Set(["uuid", "source_type", "destination_type", "boot_index", "delete_on_termination"]);

const unsupported = (what: string) => new InvalidRequestError(`Block device mapping is not supported by peerstack beyond the image as local root disk: ${what}.`);

/**
 * The image a server's block device mappings boot from (undefined when the request has none);
 * a 400 for the legacy block_device_mapping and for any mapping other than the trivial one.
 */
export function imageOfMappings(server: Obj): string | undefined {
  if (server.block_device_mapping !== undefined && server.block_device_mapping !== null) throw unsupported("block_device_mapping (the legacy form)");
  const raw = server.block_device_mapping_v2;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new InvalidRequestError("Invalid input for field/attribute block_device_mapping_v2. Value: must be an array");
  if (raw.length === 0) return undefined;
  if (raw.length > 1) throw unsupported(`${raw.length} mappings (only one, the root disk from the image)`);
  const m = raw[0] as unknown;
  if (!m || typeof m !== "object" || Array.isArray(m)) throw new InvalidRequestError("Invalid input for field/attribute block_device_mapping_v2. Value: each mapping must be an object");
  const mapping = m as Obj;
  const extra = Object.keys(mapping).filter((k) => !TRIVIAL_KEYS.has(k));
  if (extra.length > 0) throw unsupported(`field${extra.length > 1 ? "s" : ""} ${extra.join(", ")}`);
  if (mapping.source_type !== "image") throw unsupported(`source_type ${JSON.stringify(mapping.source_type ?? null)} (only image)`);
  const destination = mapping.destination_type ?? "local";
  if (destination !== "local") throw unsupported(`destination_type ${JSON.stringify(destination)} (boot from volume)`);
  // Nova takes boot_index as a number or a numeric string.
  if (mapping.boot_index !== 0 && mapping.boot_index !== "0") throw unsupported(`boot_index ${JSON.stringify(mapping.boot_index ?? null)} (only 0)`);
  if (typeof mapping.uuid !== "string" || mapping.uuid === "") throw new InvalidRequestError("Invalid input for field/attribute block_device_mapping_v2. Value: a mapping from an image needs its uuid");
  return mapping.uuid;
}
