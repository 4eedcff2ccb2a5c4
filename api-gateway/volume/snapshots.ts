// Cinder snapshots: create (volume available, or in-use with force; quota taken), list/detail, show, update,
// delete (the owner returns the quota on removal; refused while volumes made from it exist). The owner of the volume (the
// snapshot's `host`) makes and removes the storage snapshot.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireRole } from "../auth/policy.ts";
import { InvalidRequestError } from "../errors.ts";
import { query } from "../identity/http.ts";
import { bodyOf, boolParam, caller, findSnapshot, findVolume, metadataOf, optText, projectOf, type Obj, type VolumeRouteOptions } from "./common.ts";
import { isoMicro, SNAPSHOT, snapshotView, VOLUME } from "./model.ts";
import { releaseVolumeQuota, takeVolumeQuota } from "./quota.ts";
import { listFor } from "./volumes.ts";

export const snapshotRoutes: FastifyPluginAsync<VolumeRouteOptions> = async (app, { ctx, backend }) => {
  const now = () => isoMicro(ctx.clock.now());

  app.post("/snapshots", async (req, reply) => {
    const a = caller(req);
    requireRole(a, "member", "volume:create_snapshot");
    const b = bodyOf(req, "snapshot");
    const volumeId = optText(b, "volume_id");
    if (!volumeId) throw new InvalidRequestError("Invalid input for field/attribute volume_id. Value: None. None is not of type 'string'");
    const v = findVolume(ctx, a, volumeId);
    const force = boolParam(b.force);
    if (!(v.status === "available" || (force && v.status === "in-use"))) {
      throw new InvalidRequestError(`Invalid volume: Volume ${v.id} status must be available${force ? " or in-use" : ""}, but current status is: ${String(v.status)}.`);
    }
    const name = optText(b, "name") ?? optText(b, "display_name");
    const description = optText(b, "description", 65535) ?? optText(b, "display_description", 65535);
    const project = String(v.project_id);
    const size = Number(v.size) || 0;
    await takeVolumeQuota(ctx, backend, project, { snapshots: 1, gigabytes: size });
    const id = ctx.random.uuid();
    const fields = {
      project_id: project,
      user_id: a.user.id,
      volume_id: v.id,
      size,
      status: "creating",
      host: v.host,
      name: name ?? null,
      description: description ?? null,
      metadata: metadataOf(b.metadata),
      created_at: now(),
      updated_at: null,
    };
    await ctx.store.put(SNAPSHOT, id, fields).catch(async (err: unknown) => {
      await releaseVolumeQuota(backend, project, { snapshots: 1, gigabytes: size }); // not written: give it back
      throw err;
    });
    if (v.pristine !== false) await ctx.store.put(VOLUME, v.id, { pristine: false }); // a snapshot pins the data to its host
    reply.code(202);
    return { snapshot: snapshotView(ctx.store.get(SNAPSHOT, id)!) };
  });

  const list = (detail: boolean) => async (req: FastifyRequest) => {
    const a = caller(req);
    const { items, next } = listFor(req, a, ctx.store.list(SNAPSHOT));
    const out: Obj = { snapshots: items.map((s) => (detail ? snapshotView(s) : { ...snapshotView(s) })) };
    if (next) out.snapshots_links = [{ rel: "next", href: `${ctx.baseUrl(req)}/volume/v3/${projectOf(a)}/snapshots${detail ? "/detail" : ""}?limit=${query(req).limit}&marker=${next}` }];
    return out;
  };
  app.get("/snapshots", list(false));
  app.get("/snapshots/detail", list(true));

  app.get<{ Params: { id: string } }>("/snapshots/:id", async (req) => ({ snapshot: snapshotView(findSnapshot(ctx, caller(req), req.params.id)) }));

  app.put<{ Params: { id: string } }>("/snapshots/:id", async (req) => {
    const a = caller(req);
    const s = findSnapshot(ctx, a, req.params.id);
    requireRole(a, "member", "volume:update_snapshot");
    const b = bodyOf(req, "snapshot");
    const fields: Obj = {};
    const name = optText(b, "name") ?? optText(b, "display_name");
    const description = optText(b, "description", 65535) ?? optText(b, "display_description", 65535);
    if (name !== undefined) fields.name = name;
    if (description !== undefined) fields.description = description;
    if (b.metadata !== undefined) fields.metadata = metadataOf(b.metadata);
    if (Object.keys(fields).length === 0) throw new InvalidRequestError("Invalid input received: Must specify name, description or metadata to update");
    await ctx.store.put(SNAPSHOT, s.id, { ...fields, updated_at: now() });
    return { snapshot: snapshotView(ctx.store.get(SNAPSHOT, s.id)!) };
  });

  app.delete<{ Params: { id: string } }>("/snapshots/:id", async (req, reply) => {
    const a = caller(req);
    const s = findSnapshot(ctx, a, req.params.id);
    requireRole(a, "member", "volume:delete_snapshot");
    if (s.status === "deleting") return reply.code(202).send();
    if (!["available", "error", "error_deleting"].includes(String(s.status))) throw new InvalidRequestError(`Invalid snapshot: Snapshot status must be available or error and must not be part of a group.`);
    if (ctx.store.list(VOLUME, (v) => v.snapshot_id === s.id).length) throw new InvalidRequestError(`Invalid snapshot: Snapshot ${s.id} has dependent volumes.`);
    await ctx.store.put(SNAPSHOT, s.id, { status: "deleting", updated_at: now() }); // its owner returns the quota on removal
    return reply.code(202).send();
  });
};
