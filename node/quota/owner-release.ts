// Quota of a deleted server, volume or snapshot is returned by its owner host, once, when that host
// removes the record (docs/notes/placement-processes.md, "double release"). Returning it where the
// DELETE arrives released twice when two nodes (or both sides of a partition) took the same delete;
// the owner is the one writer of its records' end, so a removal it makes is a single event. The owner is
// the record's host, or the node that adopted it when its host was removed (node/orphans.ts).
import { ownerOf } from "../orphans.ts";
import type { CatalogRecord, StoreChange } from "../store/crdt-store.ts";
import type { QuotaAmounts } from "./limits.ts";

/** What a record of one kind holds in quota: undefined when it holds none (e.g. never placed). */
export type HeldQuota = (record: CatalogRecord) => { project: string; amounts: QuotaAmounts } | undefined;

type Flavor = { id: string; vcpus: number; ram: number; disk: number };
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const projectOf = (r: CatalogRecord) => (typeof r.project_id === "string" && r.project_id ? r.project_id : undefined);

/** What servers ("server": Nova's quota of its flavor), volumes and snapshots (Cinder's) hold. */
export function quotaHolders(serverQuota: (flavor: Flavor) => QuotaAmounts): Record<string, HeldQuota> {
  const held = (amounts: (r: CatalogRecord) => QuotaAmounts): HeldQuota => (r) => {
    const project = projectOf(r);
    return project ? { project, amounts: amounts(r) } : undefined;
  };
  return {
    server: held((r) => serverQuota({ id: String(r.flavor_id), vcpus: num(r.vcpus), ram: num(r.ram), disk: num(r.disk) })),
    volume: held((r) => ({ volumes: 1, gigabytes: num(r.size) })),
    volume_snapshot: held((r) => ({ snapshots: 1, gigabytes: num(r.size) })),
  };
}

/** image_size_total is counted in whole MiB, as Glance does. */
export function mebibytes(bytes: number): number {
  return Math.ceil(bytes / (1024 * 1024));
}

/** Images (Glance limits): the count where it was taken (`quota_node`), plus the stored MiB once active. */
export const imageQuotaHolder = {
  owner: (r: CatalogRecord): unknown => r.quota_node,
  held: ((r) => {
    if (typeof r.owner !== "string" || typeof r.quota_node !== "string") return undefined;
    const size = r.status === "active" && typeof r.size === "number" ? mebibytes(r.size) : 0;
    return { project: r.owner, amounts: { image_count_total: 1, ...(size > 0 ? { image_size_total: size } : {}) } };
  }) as HeldQuota,
};

export interface OwnerReleaseComponents {
  self: string;
  store: {
    list(kind: string, filter?: (r: CatalogRecord) => boolean): CatalogRecord[];
    onChange(fn: (change: StoreChange) => void): () => void;
  };
  quota: { release(project: string, amounts: QuotaAmounts): Promise<void> };
  /** Per record kind, what a live record of this host holds. */
  kinds: Record<string, HeldQuota>;
  /**
   * Kinds any node may remove (images: a DELETE through any node ends the record), with the node that
   * took their quota: that node returns it once, when it first sees the record gone, whoever removed it.
   */
  endedAnywhere?: Record<string, { held: HeldQuota; owner: (r: CatalogRecord) => unknown }>;
  onReleased?(kind: string, id: string, project: string, amounts: QuotaAmounts): void;
  onError?(kind: string, id: string, err: unknown): void;
}

export interface OwnerRelease {
  /** How many records of this host hold quota now. */
  held(): number;
  /** Resolves when every release started so far has been written. */
  idle(): Promise<void>;
  stop(): void;
}

export function ownerRelease(c: OwnerReleaseComponents): OwnerRelease {
  // Last seen quota of each record this host owns: a tombstone carries no fields to read it from.
  const held = new Map<string, { project: string; amounts: QuotaAmounts }>();
  const key = (kind: string, id: string) => `${kind}/${id}`;
  const anywhere = c.endedAnywhere ?? {};
  const note = (kind: string, r: CatalogRecord) => {
    const shared = anywhere[kind];
    const q = shared ? (shared.owner(r) === c.self ? shared.held(r) : undefined) : ownerOf(r) === c.self ? c.kinds[kind]!(r) : undefined;
    if (q) held.set(key(kind, r.id), q);
    else held.delete(key(kind, r.id)); // moved to another host, or holds nothing any more
  };
  for (const kind of Object.keys(c.kinds)) for (const r of c.store.list(kind, (x) => ownerOf(x) === c.self)) note(kind, r);
  for (const [kind, k] of Object.entries(anywhere)) for (const r of c.store.list(kind, (x) => k.owner(x) === c.self)) note(kind, r);
  let pending = Promise.resolve();
  const off = c.store.onChange(({ delta, record, local }) => {
    if (!Object.hasOwn(c.kinds, delta.kind) && !Object.hasOwn(anywhere, delta.kind)) return;
    if (record) return note(delta.kind, record);
    const k = key(delta.kind, delta.id);
    const q = held.get(k);
    held.delete(k);
    // Only a removal this host made returns quota: a tombstone from a peer is that peer's (or nobody's).
    // Kinds ended anywhere: the held entry goes at the first tombstone seen, so a second one returns nothing.
    if (!q || (!local && !Object.hasOwn(anywhere, delta.kind))) return;
    pending = pending
      .then(() => c.quota.release(q.project, q.amounts))
      .then(() => c.onReleased?.(delta.kind, delta.id, q.project, q.amounts))
      .catch((err: unknown) => c.onError?.(delta.kind, delta.id, err));
  });
  return {
    held: () => held.size,
    idle: () => pending,
    stop: off,
  };
}
