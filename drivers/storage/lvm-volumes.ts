// How peerstack's objects map onto LVs in a shared VG: a name prefix per kind, so operator LVs
// in the same VG are never listed or touched, and rows from `lvs` map back to VolumeInfo.
import type { StorageUsage, VolumeInfo, VolumeKind } from "./interface.ts";
import { checkId } from "./interface.ts";
import type { LvRow } from "./lvm-cli.ts";

const PREFIX: Record<VolumeKind, string> = { volume: "ps-vol-", image: "ps-img-", snapshot: "ps-snap-" };
/** An image being written; renamed to its final name once complete. */
const PARTIAL_IMAGE = "ps-part-img-";

export const lvName = (kind: VolumeKind, id: string) => `${PREFIX[kind]}${checkId(kind, id)}`;
export const partialImageLv = (id: string) => `${PARTIAL_IMAGE}${checkId("image", id)}`;
export const devPath = (vg: string, lv: string) => `/dev/${vg}/${lv}`;

export function parseLvName(name: string): { kind: VolumeKind; id: string } | undefined {
  for (const kind of ["volume", "image", "snapshot"] as const) {
    if (name.startsWith(PREFIX[kind])) return { kind, id: name.slice(PREFIX[kind].length) };
  }
  return undefined;
}

export function toVolumeInfo(vg: string, row: LvRow): VolumeInfo | undefined {
  const who = parseLvName(row.name);
  if (!who) return undefined;
  const v: VolumeInfo = { ...who, sizeBytes: row.sizeBytes, path: devPath(vg, row.name) };
  const origin = row.origin ? parseLvName(row.origin) : undefined;
  if (origin) v.origin = origin;
  return v;
}

export const volumesOf = (vg: string, rows: LvRow[]): VolumeInfo[] =>
  rows.flatMap((r) => toVolumeInfo(vg, r) ?? []).sort((a, b) => `${a.kind}:${a.id}`.localeCompare(`${b.kind}:${b.id}`));

export const findLv = (rows: LvRow[], kind: VolumeKind, id: string) => rows.find((r) => r.name === lvName(kind, id));

/** Objects cloned from kind/id (thin snapshots whose origin it is), as "kind:id". */
export function dependentsOf(rows: LvRow[], kind: VolumeKind, id: string): string[] {
  const name = lvName(kind, id);
  return rows.filter((r) => r.origin === name).flatMap((r) => {
    const who = parseLvName(r.name);
    return who ? [`${who.kind}:${who.id}`] : [];
  });
}

/** Ledger figures from one `lvs` listing: the pool's data size and fill, and our LVs' virtual sizes. */
export function usageOf(rows: LvRow[], pool: string): StorageUsage {
  const p = rows.find((r) => r.name === pool);
  const capacityBytes = p?.sizeBytes ?? 0;
  const usedBytes = p && Number.isFinite(p.dataPercent) ? Math.round((capacityBytes * p.dataPercent) / 100) : 0;
  const provisionedBytes = rows.filter((r) => parseLvName(r.name)).reduce((s, r) => s + r.sizeBytes, 0);
  return { capacityBytes, usedBytes, provisionedBytes };
}
