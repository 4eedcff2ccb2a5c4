// Cinder v3 views of the "volume" and "volume_snapshot" catalog records, and the volume quotas
// (limits from node/quota when the agent passes them, else Cinder's defaults; usage counted from records).
import type { CatalogRecord, GatewayStore } from "../store.ts";

export const VOLUME = "volume";
export const SNAPSHOT = "volume_snapshot";

export const CINDER_DEFAULT_QUOTAS = { volumes: 10, gigabytes: 1000, snapshots: 10, backups: 10, backup_gigabytes: 1000, groups: 10, per_volume_gigabytes: -1 };

export type VolumeResource = "volumes" | "gigabytes" | "snapshots";

/** Limits per project for volumes/gigabytes/snapshots (missing ones: Cinder defaults). */
export type VolumeLimits = (projectId: string) => Partial<Record<VolumeResource, number>>;

/** Limits from the quota escrow's replicated targets (node/quota/escrow.ts `counter(project, r).target`). */
export function escrowVolumeLimits(quota: { counter(project: string, r: VolumeResource): { target?: { value: number } } }): VolumeLimits {
  return (project) => {
    const out: Partial<Record<VolumeResource, number>> = {};
    for (const r of ["volumes", "gigabytes", "snapshots"] as const) {
      const t = quota.counter(project, r).target;
      if (t) out[r] = t.value;
    }
    return out;
  };
}

export interface VolumeUsage {
  volumes: number;
  gigabytes: number;
  snapshots: number;
}

export function limitsFor(limits: VolumeLimits | undefined, project: string): Record<VolumeResource, number> {
  return { volumes: CINDER_DEFAULT_QUOTAS.volumes, gigabytes: CINDER_DEFAULT_QUOTAS.gigabytes, snapshots: CINDER_DEFAULT_QUOTAS.snapshots, ...(limits?.(project) ?? {}) };
}

/** Usage counted from the replicated records (snapshot sizes count toward gigabytes, as in Cinder). */
export function usageOf(store: GatewayStore, project: string): VolumeUsage {
  const vols = store.list(VOLUME, (r) => r.project_id === project);
  const snaps = store.list(SNAPSHOT, (r) => r.project_id === project);
  const gb = [...vols, ...snaps].reduce((s, r) => s + (Number(r.size) || 0), 0);
  return { volumes: vols.length, gigabytes: gb, snapshots: snaps.length };
}

export function volumeView(r: CatalogRecord, base: string, admin: boolean): Record<string, unknown> {
  const href = `${base}/volume/v3/${String(r.project_id)}/volumes/${r.id}`;
  const v: Record<string, unknown> = {
    id: r.id,
    name: r.name ?? null,
    description: r.description ?? null,
    size: r.size,
    status: r.status,
    availability_zone: r.availability_zone,
    bootable: r.image_id ? "true" : "false",
    encrypted: false,
    multiattach: false,
    attachments: r.attachments ?? [],
    metadata: r.metadata ?? {},
    volume_type: r.volume_type ?? "__DEFAULT__",
    snapshot_id: r.snapshot_id ?? null,
    source_volid: r.source_volid ?? null,
    consistencygroup_id: null,
    replication_status: null,
    user_id: r.user_id,
    created_at: r.created_at,
    updated_at: r.updated_at ?? null,
    "os-vol-tenant-attr:tenant_id": r.project_id,
    links: [
      { rel: "self", href },
      { rel: "bookmark", href },
    ],
  };
  if (r.image_id) v.volume_image_metadata = { image_id: r.image_id };
  if (admin) v["os-vol-host-attr:host"] = r.host ?? null;
  return v;
}

export function snapshotView(r: CatalogRecord): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name ?? null,
    description: r.description ?? null,
    volume_id: r.volume_id,
    size: r.size,
    status: r.status,
    metadata: r.metadata ?? {},
    progress: r.status === "available" ? "100%" : "0%",
    created_at: r.created_at,
    updated_at: r.updated_at ?? null,
    "os-extended-snapshot-attributes:project_id": r.project_id,
    "os-extended-snapshot-attributes:progress": r.status === "available" ? "100%" : "0%",
  };
}

/** Cinder's timestamps: ISO 8601 with microseconds, no zone. */
export function isoMicro(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}
