// Cinder quotas over node/quota's escrow: take on create (413 with Cinder's messages when short), release
// on delete, figures for os-quota-sets / limits. Without an escrow (a gateway with no agent behind it)
// the check counts the replicated records against the default limits (not partition-safe; tests only).
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { QuotaExceededError } from "../../node/quota/limits.ts";
import type { GatewayContext } from "../context.ts";
import { OverLimitError } from "../errors.ts";
import type { VolumeBackend } from "./common.ts";
import { CINDER_DEFAULT_QUOTAS, limitsFor, usageOf, type VolumeResource } from "./model.ts";

export type VolumeAmounts = Partial<Record<VolumeResource, number>>;
export const VOLUME_RESOURCES: VolumeResource[] = ["volumes", "gigabytes", "snapshots"];

export interface QuotaFigures {
  limit: Record<VolumeResource, number>;
  used: Record<VolumeResource, number>;
}

/** Limit and usage per resource: the escrow's counters once minted, else defaults and record counts. */
export function volumeFigures(ctx: GatewayContext, backend: VolumeBackend, project: string): QuotaFigures {
  const limit = limitsFor(undefined, project);
  const counted = usageOf(ctx.store, project);
  const used: Record<VolumeResource, number> = { volumes: counted.volumes, gigabytes: counted.gigabytes, snapshots: counted.snapshots };
  for (const r of VOLUME_RESOURCES) {
    const c = backend.quota?.counter(project, r);
    if (c && (bc.minted(c) > 0 || bc.limit(c) > 0 || c.target)) {
      limit[r] = c.target?.value ?? bc.limit(c);
      used[r] = bc.usage(c);
    }
  }
  return { limit, used };
}

function overLimit(resource: string, requested: number, used: number, limit: number): OverLimitError {
  if (resource === "gigabytes") return new OverLimitError(`VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${requested}G, quota is ${limit}G and ${used}G has been consumed.`);
  if (resource === "snapshots") return new OverLimitError(`SnapshotLimitExceeded: Maximum number of snapshots allowed (${limit}) exceeded`);
  return new OverLimitError(`VolumeLimitExceeded: Maximum number of volumes allowed (${limit}) exceeded for quota '${resource}'.`);
}

/** Spends quota for a create; all resources or none. */
export async function takeVolumeQuota(ctx: GatewayContext, backend: VolumeBackend, project: string, amounts: VolumeAmounts): Promise<void> {
  if (backend.quota) {
    try {
      await backend.quota.take(project, amounts);
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      const r = err.resource as VolumeResource;
      const c = backend.quota.counter(project, r);
      throw overLimit(r, amounts[r] ?? 0, bc.usage(c), c.target?.value ?? bc.limit(c));
    }
    return;
  }
  const { limit, used } = volumeFigures(ctx, backend, project);
  for (const r of VOLUME_RESOURCES) {
    const n = amounts[r] ?? 0;
    if (n > 0 && limit[r] >= 0 && used[r] + n > limit[r]) throw overLimit(r, n, used[r], limit[r]);
  }
}

/** Returns a deleted volume's or snapshot's quota (once per resource: the caller guards). */
export async function releaseVolumeQuota(backend: VolumeBackend, project: string, amounts: VolumeAmounts): Promise<void> {
  await backend.quota?.release(project, amounts);
}

/** The quota_set keys Cinder shows (per-type keys of the one type included). */
export function quotaSetKeys(): string[] {
  return ["volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes", "groups", "per_volume_gigabytes", "volumes___DEFAULT__", "gigabytes___DEFAULT__", "snapshots___DEFAULT__"];
}

export function quotaDefaults(): Record<string, number> {
  return { ...CINDER_DEFAULT_QUOTAS, volumes___DEFAULT__: -1, gigabytes___DEFAULT__: -1, snapshots___DEFAULT__: -1 };
}
