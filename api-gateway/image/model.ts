// Glance v2 image documents from `image` records, and the JSON-patch of PATCH /v2/images/{id}.
import { InvalidRequestError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";

export const DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"];
export const CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];
export const VISIBILITIES = ["public", "private", "shared", "community"];

/** Attributes that are not free-form properties (Glance's "base" properties). */
export const CORE = new Set([
  "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo", "os_hash_value", "owner",
  "size", "virtual_size", "min_ram", "min_disk", "disk_format", "container_format", "created_at", "updated_at", "tags",
  "self", "file", "schema", "locations", "direct_url", "stores", "status_reason",
]);
/** Core attributes a user may set (create or patch). */
export const WRITABLE = new Set(["name", "visibility", "protected", "os_hidden", "min_ram", "min_disk", "disk_format", "container_format", "tags"]);

export function isoSec(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function imageView(r: CatalogRecord): Record<string, unknown> {
  const props = (r.properties as Record<string, string> | undefined) ?? {};
  return {
    ...props,
    id: r.id,
    name: r.name ?? null,
    status: r.status,
    visibility: r.visibility,
    protected: r.protected === true,
    os_hidden: r.os_hidden === true,
    checksum: r.checksum ?? null,
    os_hash_algo: r.os_hash_algo ?? null,
    os_hash_value: r.os_hash_value ?? null,
    owner: r.owner,
    size: r.size ?? null,
    virtual_size: typeof r.virtual_size === "number" ? r.virtual_size : null,
    min_ram: r.min_ram ?? 0,
    min_disk: r.min_disk ?? 0,
    disk_format: r.disk_format ?? null,
    container_format: r.container_format ?? null,
    created_at: r.created_at,
    updated_at: r.updated_at,
    tags: r.tags ?? [],
    // Why a killed image was refused (upload checks), for its owner to read.
    ...(typeof r.status_reason === "string" ? { status_reason: r.status_reason } : {}),
    self: `/v2/images/${r.id}`,
    file: `/v2/images/${r.id}/file`,
    schema: "/v2/schemas/image",
  };
}

/** Validates one core or extra attribute; returns the record fields to write. */
export function setAttribute(fields: Record<string, unknown>, props: Record<string, string>, key: string, value: unknown, isAdmin: boolean): void {
  const bad = (why: string) => new InvalidRequestError(`Invalid value for ${key}: ${why}`);
  if (CORE.has(key) && !WRITABLE.has(key)) throw new PolicyForbiddenError(`modify ${key}`);
  switch (key) {
    case "name":
      if (value !== null && (typeof value !== "string" || value.length > 255)) throw bad("expected a string of at most 255 characters");
      fields.name = value;
      return;
    case "visibility":
      if (typeof value !== "string" || !VISIBILITIES.includes(value)) throw bad(`must be one of ${VISIBILITIES.join(", ")}`);
      if (value === "public" && !isAdmin) throw new PolicyForbiddenError("publicize_image");
      fields.visibility = value;
      return;
    case "protected":
    case "os_hidden":
      if (typeof value !== "boolean") throw bad("expected a boolean");
      fields[key] = value;
      return;
    case "min_ram":
    case "min_disk":
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw bad("expected an integer >= 0");
      fields[key] = value;
      return;
    case "disk_format":
      if (value !== null && (typeof value !== "string" || !DISK_FORMATS.includes(value))) throw bad(`must be one of ${DISK_FORMATS.join(", ")}`);
      fields.disk_format = value;
      return;
    case "container_format":
      if (value !== null && (typeof value !== "string" || !CONTAINER_FORMATS.includes(value))) throw bad(`must be one of ${CONTAINER_FORMATS.join(", ")}`);
      fields.container_format = value;
      return;
    case "tags":
      if (!Array.isArray(value) || value.some((t) => typeof t !== "string" || t.length > 255)) throw bad("expected a list of strings");
      fields.tags = [...new Set(value as string[])];
      return;
    default:
      if (key.length > 255 || key === "") throw bad("property names are 1-255 characters");
      if (typeof value !== "string") throw bad("property values must be strings");
      props[key] = value;
  }
}

interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** Applies a Glance v2.1 JSON patch to an image record; returns the fields to write. */
export function applyPatch(r: CatalogRecord, ops: unknown, isAdmin: boolean): Record<string, unknown> {
  if (!Array.isArray(ops)) throw new InvalidRequestError("Request body must be a JSON array of operation objects.");
  const fields: Record<string, unknown> = {};
  const props: Record<string, string> = { ...((r.properties as Record<string, string>) ?? {}) };
  let tags = [...((r.tags as string[]) ?? [])];
  for (const raw of ops as PatchOp[]) {
    if (!raw || typeof raw !== "object" || typeof raw.op !== "string" || typeof raw.path !== "string") throw new InvalidRequestError("Operation objects must contain exactly one member named \"op\" and \"path\".");
    const parts = raw.path.replace(/^\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const key = parts[0];
    if (!key) throw new InvalidRequestError(`Invalid JSON pointer for this resource: '${raw.path}'`);
    if (key === "tags" && parts.length === 2) {
      if (raw.op === "add") tags = [...new Set([...tags, String(raw.value)])];
      else if (raw.op === "remove") tags = tags.filter((t) => t !== parts[1]);
      else throw new InvalidRequestError(`Invalid operation: ${raw.op}`);
      fields.tags = tags;
      continue;
    }
    if (raw.op === "add" || raw.op === "replace") {
      if (raw.op === "replace" && !CORE.has(key) && !(key in props)) throw new InvalidRequestError(`Property ${key} does not exist.`);
      setAttribute(fields, props, key, raw.value, isAdmin);
      if (key === "tags") tags = fields.tags as string[];
    } else if (raw.op === "remove") {
      if (CORE.has(key)) throw new PolicyForbiddenError(`delete ${key}`);
      if (!(key in props)) throw new InvalidRequestError(`Property ${key} does not exist.`);
      delete props[key];
    } else {
      throw new InvalidRequestError(`Invalid operation: ${raw.op}`);
    }
  }
  fields.properties = props;
  return fields;
}
