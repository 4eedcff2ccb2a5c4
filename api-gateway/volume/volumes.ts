// Cinder volumes: create (blank, from an image or a snapshot; quota taken first), list (brief/detail, filters,
// paging), show, update, delete (quota returned by the owner host on removal; refused while attached or with snapshots unless cascade),
// summary, and the admin/user actions os-extend, os-reset_status, os-force_delete. The record is written
// `creating` with `host` = the node that will hold the LV/file; that node's volume reconciler takes it on.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { NODE_KIND } from "../auth/tokens.ts";
import { isAdmin, requireAdmin, requireRole } from "../auth/policy.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import { query } from "../identity/http.ts";
import { canSee } from "../image/plugin.ts";
import type { CatalogRecord } from "../store.ts";
import { bodyOf, boolParam, caller, findSnapshot, findVolume, metadataOf, optText, projectOf, sizeOf, type Obj, type VolumeRouteOptions } from "./common.ts";
import { isoMicro, SNAPSHOT, VOLUME, volumeView } from "./model.ts";
import { releaseVolumeQuota, takeVolumeQuota } from "./quota.ts";
import { DEFAULT_TYPE_ID, DEFAULT_TYPE_NAME } from "./types.ts";

const GiB = 1024 ** 3;
const RESETTABLE = ["available", "error", "creating", "deleting", "in-use", "attaching", "detaching", "error_deleting", "error_extending", "maintenance", "reserved"];
const DELETABLE = ["available", "error", "error_restoring", "error_extending", "error_managing"];
export const INVALID_DELETE =
  "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.";

/** Servers whose desired attachments name the volume. */
export function attachedServers(store: VolumeRouteOptions["ctx"]["store"], volumeId: string): CatalogRecord[] {
  return store.list("server", (s) => ((s.volumes_attached as { volumeId?: string }[] | undefined) ?? []).some((x) => x.volumeId === volumeId));
}

function sorted(list: CatalogRecord[], req: FastifyRequest): CatalogRecord[] {
  const q = query(req);
  const [key, dir] = (q.sort ?? `${q.sort_key ?? "created_at"}:${q.sort_dir ?? "desc"}`).split(",")[0]!.split(":");
  const k = key === "display_name" ? "name" : key!;
  const sign = (dir ?? "desc").toLowerCase() === "asc" ? 1 : -1;
  return [...list].sort((a, b) => sign * (String(a[k] ?? "").localeCompare(String(b[k] ?? "")) || a.id.localeCompare(b.id)));
}

/** Filters (name, status, metadata, all_tenants/project_id for admins), sort, marker + limit. */
export function listFor(req: FastifyRequest, a: AuthContext, all: CatalogRecord[]): { items: CatalogRecord[]; next?: string } {
  const q = query(req);
  const everyone = isAdmin(a) && boolParam(q.all_tenants ?? q.all_projects);
  const project = everyone ? q.project_id : projectOf(a);
  let items = all.filter((r) => (project === undefined || r.project_id === project) && (q.name === undefined || r.name === q.name) && (q.status === undefined || r.status === q.status));
  if (q.volume_id !== undefined) items = items.filter((r) => r.volume_id === q.volume_id);
  items = sorted(items, req);
  if (q.marker !== undefined) {
    const i = items.findIndex((r) => r.id === q.marker);
    if (i < 0) throw new InvalidRequestError(`Invalid input received: marker [${q.marker}] not found`);
    items = items.slice(i + 1);
  }
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 0) throw new InvalidRequestError("Invalid input received: limit param must be an integer");
    if (items.length > n) return { items: items.slice(0, n), next: items[n - 1]?.id };
  }
  return { items };
}

export const volumeRoutes: FastifyPluginAsync<VolumeRouteOptions> = async (app, { ctx, backend }) => {
  const now = () => isoMicro(ctx.clock.now());
  const view = (req: FastifyRequest, a: AuthContext, r: CatalogRecord) => volumeView(r, ctx.baseUrl(req), isAdmin(a));
  // Cinder's create/update answer has no extension attributes (tenant, host, image metadata): Tempest's create_volume/update_volume schemas forbid them.
  const writeView = (req: FastifyRequest, a: AuthContext, r: CatalogRecord) => {
    const { "os-vol-tenant-attr:tenant_id": _t, "os-vol-host-attr:host": _h, volume_image_metadata: _i, ...rest } = view(req, a, r);
    return rest;
  };

  function zones(): Map<string, string[]> {
    const out = new Map<string, string[]>([[ctx.node.az ?? "nova", [ctx.node.id]]]);
    for (const n of ctx.store.list(NODE_KIND)) {
      const az = String(n.az ?? "nova");
      if (n.id !== ctx.node.id) out.set(az, [...(out.get(az) ?? []), n.id]);
    }
    return out;
  }

  function hostFor(az: string | undefined, project: string, sizeGiB: number): string {
    const chosen = backend.chooseHost?.({ ...(az ? { az } : {}), project, sizeGiB });
    if (chosen) return chosen;
    if (!az || az === (ctx.node.az ?? "nova")) return ctx.node.id;
    return [...(zones().get(az) ?? [])].sort()[0] ?? ctx.node.id;
  }

  app.post("/volumes", async (req, reply) => {
    const a = caller(req);
    const project = requireRole(a, "member", "volume:create");
    const b = bodyOf(req, "volume");
    const name = optText(b, "name") ?? optText(b, "display_name");
    const description = optText(b, "description", 65535) ?? optText(b, "display_description", 65535);
    const metadata = metadataOf(b.metadata);
    const az = optText(b, "availability_zone");
    if (az !== undefined && !zones().has(az)) throw new InvalidRequestError(`Invalid input received: Availability zone '${az}' is invalid.`);
    const type = optText(b, "volume_type");
    if (type !== undefined && type !== DEFAULT_TYPE_NAME && type !== DEFAULT_TYPE_ID) throw new ItemNotFoundError("volume_type", type, `Volume type with name ${type} could not be found.`);
    if (b.source_volid !== undefined && b.source_volid !== null) throw new InvalidRequestError("Invalid input received: cloning a volume (source_volid) is not supported by peerstack; snapshot it and create from the snapshot");
    let size = b.size === undefined || b.size === null ? undefined : sizeOf(b.size);
    const fields: Obj = {};
    let host: string | undefined;
    const imageRef = optText(b, "imageRef") ?? optText(b, "image_id");
    const snapshotId = optText(b, "snapshot_id");
    if (imageRef !== undefined && snapshotId !== undefined) throw new InvalidRequestError("Invalid input received: imageRef and snapshot_id cannot both be given");
    if (imageRef !== undefined) {
      const img = ctx.store.get("image", imageRef);
      if (!img || !canSee(ctx.store, a, img)) throw new InvalidRequestError("Invalid image identifier or unable to access requested image.");
      if (img.status !== "active") throw new InvalidRequestError(`Invalid input received: Image ${imageRef} is not active.`);
      const need = Math.max(1, Math.ceil((Number(img.size) || 0) / GiB), Number(img.min_disk) || 0);
      if (size === undefined) size = need;
      if (size < need) throw new InvalidRequestError(`Invalid input received: Size of specified image ${need}GB is larger than volume size ${size}GB.`);
      Object.assign(fields, { image_id: imageRef, image_name: img.name ?? null, pristine: true });
    } else if (snapshotId !== undefined) {
      const snap = findSnapshot(ctx, a, snapshotId);
      if (snap.status !== "available") throw new InvalidRequestError(`Invalid snapshot: Originating snapshot status must be one of 'available' values`);
      if (size === undefined) size = Number(snap.size);
      if (size < Number(snap.size)) throw new InvalidRequestError(`Invalid input received: Volume size '${size}'GB cannot be smaller than the snapshot size ${String(snap.size)}GB. They must be >= original snapshot size.`);
      host = String(snap.host); // the snapshot's data is there
      Object.assign(fields, { snapshot_id: snapshotId, pristine: false });
    } else {
      if (size === undefined) throw new InvalidRequestError("Invalid input received: Volume size 'None' must be an integer and greater than 0");
      fields.pristine = true;
    }
    host ??= hostFor(az, project, size);
    await takeVolumeQuota(ctx, backend, project, { volumes: 1, gigabytes: size });
    const id = ctx.random.uuid();
    const t = now();
    const hostAz = String(ctx.store.get(NODE_KIND, host)?.az ?? (host === ctx.node.id ? (ctx.node.az ?? "nova") : (az ?? "nova")));
    await writeOrReturn(project, { volumes: 1, gigabytes: size }, () => ctx.store.put(VOLUME, id, {
      ...fields,
      project_id: project,
      user_id: a.user.id,
      name: name ?? null,
      description: description ?? null,
      size,
      status: "creating",
      host,
      availability_zone: az ?? hostAz,
      metadata,
      volume_type: DEFAULT_TYPE_NAME,
      attachments: [],
      created_at: t,
      updated_at: null,
    }));
    reply.code(202);
    return { volume: writeView(req, a, ctx.store.get(VOLUME, id)!) };
  });

  const list = (detail: boolean) => async (req: FastifyRequest) => {
    const a = caller(req);
    const { items, next } = listFor(req, a, ctx.store.list(VOLUME));
    const base = ctx.baseUrl(req);
    const out: Obj = {
      volumes: items.map((r) => (detail ? view(req, a, r) : { id: r.id, name: r.name ?? null, links: (view(req, a, r).links as unknown[]) })),
    };
    if (next) out.volumes_links = [{ rel: "next", href: `${base}/volume/v3/${projectOf(a)}/volumes${detail ? "/detail" : ""}?limit=${query(req).limit}&marker=${next}` }];
    return out;
  };
  app.get("/volumes", list(false));
  app.get("/volumes/detail", list(true));

  app.get("/volumes/summary", async (req) => {
    const a = caller(req);
    const { items } = listFor(req, a, ctx.store.list(VOLUME));
    return { "volume-summary": { total_size: items.reduce((s, r) => s + (Number(r.size) || 0), 0), total_count: items.length, metadata: {} } };
  });

  app.get<{ Params: { id: string } }>("/volumes/:id", async (req) => {
    const a = caller(req);
    return { volume: view(req, a, findVolume(ctx, a, req.params.id)) };
  });

  app.put<{ Params: { id: string } }>("/volumes/:id", async (req) => {
    const a = caller(req);
    const v = findVolume(ctx, a, req.params.id);
    requireRole(a, "member", "volume:update");
    const b = bodyOf(req, "volume");
    const fields: Obj = {};
    const name = optText(b, "name") ?? optText(b, "display_name");
    const description = optText(b, "description", 65535) ?? optText(b, "display_description", 65535);
    if (name !== undefined || b.name === null) fields.name = name ?? null;
    if (description !== undefined || b.description === null) fields.description = description ?? null;
    if (b.metadata !== undefined) fields.metadata = metadataOf(b.metadata);
    if (Object.keys(fields).length === 0) throw new InvalidRequestError("Invalid input received: Must specify name, description or metadata to update");
    await ctx.store.put(VOLUME, v.id, { ...fields, updated_at: now() });
    return { volume: writeView(req, a, ctx.store.get(VOLUME, v.id)!) };
  });

  /** Quota taken for a write that failed goes back (taken before the write so that a refusal writes nothing). */
  async function writeOrReturn(project: string, amounts: Parameters<typeof releaseVolumeQuota>[2], write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (err) {
      await releaseVolumeQuota(backend, project, amounts);
      throw err;
    }
  }

  /** Marks the volume (and with cascade its snapshots) deleting; their owner host returns the quota on removal. */
  async function markDeleting(v: CatalogRecord, cascade: boolean, force: boolean): Promise<void> {
    const snaps = ctx.store.list(SNAPSHOT, (s) => s.volume_id === v.id);
    const attached = ((v.attachments as unknown[] | undefined) ?? []).length > 0 || attachedServers(ctx.store, v.id).length > 0;
    if (v.status === "deleting") return; // already on its way: quota was returned by that request
    if (attached || (!force && !DELETABLE.includes(String(v.status)))) throw new InvalidRequestError(INVALID_DELETE);
    if (snaps.length && !cascade) throw new InvalidRequestError(INVALID_DELETE);
    if (cascade && snaps.some((s) => !["available", "error", "deleting"].includes(String(s.status)))) throw new InvalidRequestError("Invalid volume: Snapshot of volume must be in available or error state to cascade delete.");
    for (const s of snaps) {
      if (s.status === "deleting") continue;
      await ctx.store.put(SNAPSHOT, s.id, { status: "deleting", updated_at: now() });
    }
    await ctx.store.put(VOLUME, v.id, { status: "deleting", updated_at: now() });
  }

  app.delete<{ Params: { id: string } }>("/volumes/:id", async (req, reply) => {
    const a = caller(req);
    const v = findVolume(ctx, a, req.params.id);
    requireRole(a, "member", "volume:delete");
    const q = query(req);
    const force = boolParam(q.force);
    if (force) requireAdmin(a, "volume:force_delete");
    await markDeleting(v, boolParam(q.cascade), force);
    return reply.code(202).send();
  });

  app.post<{ Params: { id: string } }>("/volumes/:id/action", async (req, reply) => {
    const a = caller(req);
    const v = findVolume(ctx, a, req.params.id);
    requireRole(a, "member", "volume:action");
    const body = (req.body ?? {}) as Obj;
    const [action] = Object.keys(body);
    const arg = (body[action ?? ""] ?? {}) as Obj;
    switch (action) {
      case "os-extend": {
        const size = sizeOf(arg.new_size);
        if (v.status !== "available") throw new InvalidRequestError(`Invalid volume: Volume ${v.id} status must be 'available' to extend, currently ${String(v.status)}.`);
        if (size <= Number(v.size)) throw new InvalidRequestError(`Invalid input received: New size for extend must be greater than current size. (current: ${String(v.size)}, extended: ${size}).`);
        await takeVolumeQuota(ctx, backend, String(v.project_id), { gigabytes: size - Number(v.size) });
        await writeOrReturn(String(v.project_id), { gigabytes: size - Number(v.size) }, () => ctx.store.put(VOLUME, v.id, { status: "extending", size, previous_size: v.size, updated_at: now() }));
        return reply.code(202).send();
      }
      case "os-reset_status": {
        requireAdmin(a, "volume_extension:volume_admin_actions:reset_status");
        const status = optText(arg, "status");
        if (!status) throw new InvalidRequestError("Invalid input received: Must specify 'status', 'attach_status' or 'migration_status' for update.");
        if (!RESETTABLE.includes(status)) throw new InvalidRequestError(`Invalid input received: Must specify a valid status, got ${status}.`);
        await ctx.store.put(VOLUME, v.id, { status, updated_at: now() });
        return reply.code(202).send();
      }
      case "os-force_delete":
        requireAdmin(a, "volume_extension:volume_admin_actions:force_delete");
        await markDeleting(v, true, true);
        return reply.code(202).send();
      default:
        throw new InvalidRequestError(`Invalid input received: There is no such action: ${String(action)}`);
    }
  });
};
