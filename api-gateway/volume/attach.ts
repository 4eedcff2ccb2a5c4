// The volume side of Nova's os-volume_attachments (api-gateway/compute/server-actions.ts calls these):
// the volume must exist for the caller and be available; its owner host hot-plugs it, so it must live on
// the server's host. A pristine volume (blank or from an image, never attached nor snapshotted: no data of
// its own yet) moves to the server's host at attach time; any other volume on another host → 409.
import type { AuthContext } from "../auth/plugin.ts";
import { NODE_KIND } from "../auth/tokens.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { findVolume } from "./common.ts";
import { isoMicro, SNAPSHOT, VOLUME } from "./model.ts";

/** Checks the volume and marks it `attaching` (re-homing a pristine one to the server's host). */
export async function reserveVolume(ctx: GatewayContext, a: AuthContext, server: CatalogRecord, volumeId: string): Promise<void> {
  const v = findVolume(ctx, a, volumeId);
  if (v.status !== "available") throw new InvalidRequestError(`Invalid volume: Volume ${v.id} status must be available or downloading to reserve, but the current status is ${String(v.status)}.`);
  const host = typeof server.host === "string" && server.host ? server.host : undefined;
  if (!host) throw new ConflictError(`Instance ${server.id} has no host yet (still scheduling); attach volume ${v.id} once it is placed.`);
  const fields: Record<string, unknown> = { status: "attaching", updated_at: isoMicro(ctx.clock.now()) };
  if (v.host !== host) {
    const movable = v.pristine !== false && ctx.store.list(SNAPSHOT, (s) => s.volume_id === v.id).length === 0;
    if (!movable) {
      const named = (id: unknown) => `${String(ctx.store.get(NODE_KIND, String(id))?.name ?? id)} (${String(id)})`;
      throw new ConflictError(
        `Volume ${v.id} is stored on host ${named(v.host)} but instance ${server.id} runs on host ${named(host)}: peerstack attaches a volume only on the host that holds its data, and this volume already has data (it was attached or snapshotted before).`,
      );
    }
    fields.host = host;
    const az = ctx.store.get(NODE_KIND, host)?.az;
    if (typeof az === "string") fields.availability_zone = az;
  }
  await ctx.store.put(VOLUME, v.id, fields);
}

/** Marks an attached volume `detaching`; its owner unplugs it and writes `available`. */
export async function unreserveVolume(ctx: GatewayContext, volumeId: string): Promise<void> {
  const v = ctx.store.get(VOLUME, volumeId);
  if (v && (v.status === "in-use" || v.status === "attaching")) await ctx.store.put(VOLUME, v.id, { status: "detaching", updated_at: isoMicro(ctx.clock.now()) });
}
