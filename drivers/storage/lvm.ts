// The LVM driver: thin LVs in one thin pool of a volume group. Images are thin LVs; volumes are
// thin snapshots of them (copy-on-write clones); snapshots are thin snapshots of volumes.
// Every method is idempotent: "already exists" and "not found" from lvm2 are how a retry converges.
import type { CommandRunner, CreateVolumeOptions, ImportImageOptions, StorageDriver, VolumeInfo, VolumeKind } from "./interface.ts";
import { GiB, checkId, checkSize } from "./interface.ts";
import { InsufficientSpaceError, InvalidSizeError, StorageError, StorageInUseError, StorageNotFoundError } from "./errors.ts";
import { checkImage, type QemuImageFormat } from "./image-check.ts";
import * as cli from "./lvm-cli.ts";
import { Mutex } from "./mutex.ts";
import { Revert } from "../revert.ts";
import { dependentsOf, devPath, findLv, lvName, partialImageLv, toVolumeInfo, usageOf, volumesOf } from "./lvm-volumes.ts";

export interface LvmStorageInit {
  vg: string;
  /** Thin pool LV name (default "peerstack-pool"); init() creates it if missing. */
  pool?: string;
  /** Share of the VG's free extents a new thin pool takes (default 90: room for metadata spare and growth). */
  poolPercentOfFree?: number;
  runner: CommandRunner;
  /** qemu-img convert timeout for imports (default 30 min). */
  importTimeoutMs?: number;
}

const label = (kind: VolumeKind, id: string) => `${kind} "${id}"`;

export function lvmStorage(init: LvmStorageInit): StorageDriver {
  const { vg, runner: r } = init;
  const pool = init.pool ?? "peerstack-pool";
  const importTimeoutMs = init.importTimeoutMs ?? 30 * 60_000;
  /** Check-then-act sequences hold this (lvm2 serialises single commands, not our sequences). */
  const meta = new Mutex();
  /** Imports in flight, so a second call for the same image waits for the first. */
  const importing = new Map<string, Promise<VolumeInfo>>();

  const fail = (action: string, cause: unknown): never => {
    if (cause instanceof StorageError || cause instanceof StorageNotFoundError || cause instanceof InvalidSizeError) throw cause;
    if (cli.noSpace(cause)) throw new InsufficientSpaceError(`${action}: not enough space in volume group "${vg}"`, { cause });
    throw new StorageError(action, { cause });
  };
  const rows = async (action: string) => {
    try {
      return await cli.lvs(r, vg);
    } catch (cause) {
      return fail(action, cause);
    }
  };
  const must = (all: cli.LvRow[], kind: VolumeKind, id: string, action: string) => {
    const row = findLv(all, kind, id);
    if (!row) throw new StorageNotFoundError(label(kind, id), action);
    return row;
  };
  const infoOf = (row: cli.LvRow) => toVolumeInfo(vg, row) as VolumeInfo;

  /** A thin snapshot of `origin` named `name`, grown to at least `wantBytes`; tolerates a previous partial run. */
  async function cloneLv(origin: cli.LvRow, kind: VolumeKind, id: string, wantBytes: number, action: string): Promise<VolumeInfo> {
    const name = lvName(kind, id);
    try {
      await cli.lvcreateThinSnapshot(r, vg, origin.name, name);
    } catch (cause) {
      if (!cli.alreadyExists(cause)) fail(action, cause);
    }
    let size = origin.sizeBytes;
    if (wantBytes > size) {
      try {
        await cli.lvextend(r, vg, name, wantBytes);
      } catch (cause) {
        // A retry after a completed extend: lvextend refuses "matches existing size".
        if (!/matches existing size|not larger than existing/i.test(cli.stderrOf(cause))) fail(action, cause);
      }
      size = wantBytes;
    }
    const v: VolumeInfo = { kind, id, sizeBytes: size, path: devPath(vg, name) };
    const o = toVolumeInfo(vg, origin);
    if (o) v.origin = { kind: o.kind, id: o.id };
    return v;
  }

  const remove = (kind: VolumeKind, id: string) => meta.run(async () => {
    const action = `deleting ${label(kind, id)}`;
    const names = [lvName(kind, id)];
    if (kind !== "volume") {
      const all = await rows(action);
      const deps = dependentsOf(all, kind, id);
      if (deps.length > 0) throw new StorageInUseError(label(kind, id), deps);
      if (!findLv(all, kind, id)) return;
    }
    try {
      await cli.lvremove(r, vg, names);
    } catch (cause) {
      if (cli.inUse(cause)) throw new StorageInUseError(label(kind, id), [], "its device is open (attached to a running VM?)");
      if (!cli.notFound(cause)) fail(action, cause);
    }
  });

  /** Partial LV, copy, rename: each step registers its undo, run newest first if a later one fails. */
  async function importOnce(imageId: string, sourcePath: string, format: QemuImageFormat): Promise<VolumeInfo> {
    const action = `importing image "${imageId}"`;
    const partial = partialImageLv(imageId);
    const revert = new Revert();
    try {
      const created = await meta.run(async () => {
        const all = await rows(action);
        const image = findLv(all, "image", imageId);
        if (image) return infoOf(image);
        // Checked here too, not only at upload: a blob fetched from a peer is trusted no more than one uploaded.
        const checked = await checkImage(r, sourcePath, format, { what: `image "${imageId}"` });
        // A leftover from a crashed import has unknown content: start over.
        if (all.some((x) => x.name === partial)) await cli.lvremove(r, vg, [partial]);
        await cli.lvcreateThin(r, vg, pool, partial, checked.virtualSize);
        revert.add(() => meta.run(() => cli.lvremove(r, vg, [partial])));
        return checked.format;
      });
      if (typeof created !== "string") return created;
      // A new thin LV reads zeros, so only the image's data needs writing.
      const args = ["convert", "-n", "--target-is-zero", "-f", created, "-O", "raw", sourcePath, devPath(vg, partial)];
      await r.run("qemu-img", args, { timeoutMs: importTimeoutMs });
      const done = await meta.run(async () => {
        await cli.lvrename(r, vg, partial, lvName("image", imageId));
        return infoOf(must(await rows(action), "image", imageId, action));
      });
      revert.success();
      return done;
    } catch (cause) {
      return fail(action, cause);
    } finally {
      await revert.fail();
    }
  }

  return {
    name: "lvm",
    format: "raw",

    async init() {
      const action = `creating thin pool "${vg}/${pool}"`;
      try {
        await cli.lvcreateThinPool(r, vg, pool, init.poolPercentOfFree ?? 90);
      } catch (cause) {
        if (!cli.alreadyExists(cause)) fail(action, cause);
        // lv_attr's first letter "t" marks a thin pool; anything else by that name is not ours to use.
        const row = (await rows(action)).find((x) => x.name === pool);
        if (!row?.attr.startsWith("t")) throw new StorageError(`${action}: "${pool}" exists and is not a thin pool (attr "${row?.attr ?? "?"}")`);
      }
    },

    createVolume(id: string, sizeGiB: number, opts: CreateVolumeOptions = {}) {
      return meta.run(async () => {
        const action = `creating volume "${id}"`;
        checkSize(action, sizeGiB);
        checkId("volume", id);
        const want = sizeGiB * GiB;
        const all = await rows(action);
        const existing = findLv(all, "volume", id);
        if (opts.fromImage !== undefined) {
          const image = must(all, "image", opts.fromImage, action);
          if (want < image.sizeBytes) throw new InvalidSizeError(`${action}: ${sizeGiB} GiB is smaller than image "${opts.fromImage}" (${image.sizeBytes} bytes)`);
          if (existing && existing.sizeBytes >= want) return infoOf(existing);
          return cloneLv(image, "volume", id, want, action);
        }
        if (existing) {
          if (existing.sizeBytes < want) await cli.lvextend(r, vg, existing.name, want).catch((c) => fail(action, c));
          return { ...infoOf(existing), sizeBytes: Math.max(want, existing.sizeBytes) };
        }
        try {
          await cli.lvcreateThin(r, vg, pool, lvName("volume", id), want);
        } catch (cause) {
          if (!cli.alreadyExists(cause)) fail(action, cause);
        }
        return { id, kind: "volume", sizeBytes: want, path: devPath(vg, lvName("volume", id)) };
      });
    },

    importImage(imageId: string, sourcePath: string, opts: ImportImageOptions) {
      try {
        checkId("image", imageId);
      } catch (err) {
        return Promise.reject(err);
      }
      let p = importing.get(imageId);
      if (!p) {
        p = importOnce(imageId, sourcePath, opts.format).finally(() => importing.delete(imageId));
        importing.set(imageId, p);
      }
      return p;
    },

    resize(id: string, sizeGiB: number) {
      return meta.run(async () => {
        const action = `resizing volume "${id}"`;
        checkSize(action, sizeGiB);
        const row = must(await rows(action), "volume", id, action);
        const want = sizeGiB * GiB;
        if (want < row.sizeBytes) throw new InvalidSizeError(`${action}: ${sizeGiB} GiB is smaller than the current ${row.sizeBytes} bytes`);
        if (want > row.sizeBytes) await cli.lvextend(r, vg, row.name, want).catch((c) => fail(action, c));
        return { ...infoOf(row), sizeBytes: want };
      });
    },

    snapshot(volumeId: string, snapshotId: string) {
      return meta.run(async () => {
        const action = `snapshotting volume "${volumeId}" as "${snapshotId}"`;
        checkId("snapshot", snapshotId);
        const all = await rows(action);
        const existing = findLv(all, "snapshot", snapshotId);
        if (existing) return infoOf(existing);
        return cloneLv(must(all, "volume", volumeId, action), "snapshot", snapshotId, 0, action);
      });
    },

    cloneFromSnapshot(snapshotId: string, volumeId: string, sizeGiB?: number) {
      return meta.run(async () => {
        const action = `creating volume "${volumeId}" from snapshot "${snapshotId}"`;
        checkId("volume", volumeId);
        const all = await rows(action);
        const snap = must(all, "snapshot", snapshotId, action);
        const want = sizeGiB === undefined ? snap.sizeBytes : checkSize(action, sizeGiB) * GiB;
        if (want < snap.sizeBytes) throw new InvalidSizeError(`${action}: ${sizeGiB} GiB is smaller than the snapshot (${snap.sizeBytes} bytes)`);
        const existing = findLv(all, "volume", volumeId);
        if (existing && existing.sizeBytes >= want) return infoOf(existing);
        return cloneLv(snap, "volume", volumeId, want, action);
      });
    },

    delete: (id: string) => remove("volume", id),
    deleteImage: (id: string) => remove("image", id),
    deleteSnapshot: (id: string) => remove("snapshot", id),

    path: (id: string) => devPath(vg, lvName("volume", id)),

    list: async () => volumesOf(vg, await rows(`listing volume group "${vg}"`)),

    usage: async () => usageOf(await rows(`reading usage of "${vg}/${pool}"`), pool),
  };
}
