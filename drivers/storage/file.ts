// The file driver: qcow2 files under one directory, images as backing files (copy-on-write clones).
// The default where no volume group is configured. Writes go to "<name>.partial-…" and are renamed
// into place, so a crash mid-way leaves no half-made volume and a retry starts clean.
import { mkdir, readdir, rename, rm, stat, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { CommandRunner, CreateVolumeOptions, ImportImageOptions, StorageDriver, StorageUsage, VolumeInfo, VolumeKind } from "./interface.ts";
import { GiB, ID, checkId, checkSize } from "./interface.ts";
import { InvalidSizeError, StorageError, StorageInUseError, StorageNotFoundError } from "./errors.ts";
import { readQcow2Header } from "./qcow2-header.ts";
import { Mutex } from "./mutex.ts";

export interface FileStorageInit {
  /** Directory holding images/, volumes/ and snapshots/. */
  root: string;
  runner: CommandRunner;
  /** qemu-img convert/create timeout (default 30 min: image imports can be large). */
  timeoutMs?: number;
}

const DIRS: Record<VolumeKind, string> = { volume: "volumes", image: "images", snapshot: "snapshots" };
const label = (kind: VolumeKind, id: string) => `${kind} "${id}"`;

export function fileStorage(init: FileStorageInit): StorageDriver {
  const { root, runner } = init;
  const timeoutMs = init.timeoutMs ?? 30 * 60_000;
  const fileOf = (kind: VolumeKind, id: string) => join(root, DIRS[kind], `${checkId(kind, id)}.qcow2`);
  const qemuImg = (args: string[]) => runner.run("qemu-img", args, { timeoutMs });
  /** Check-then-act sections (dependents before delete; base before clone) hold this. */
  const meta = new Mutex();
  let partials = 0;

  async function info(kind: VolumeKind, id: string): Promise<VolumeInfo | undefined> {
    const path = fileOf(kind, id);
    let header;
    try {
      header = await readQcow2Header(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const v: VolumeInfo = { id, kind, sizeBytes: header.virtualSize, path };
    if (header.backingFile) v.origin = originOf(header.backingFile);
    return v;
  }

  function originOf(backing: string): VolumeInfo["origin"] {
    for (const kind of ["image", "snapshot", "volume"] as const) {
      const dir = join(root, DIRS[kind]) + "/";
      if (backing.startsWith(dir) && backing.endsWith(".qcow2")) return { kind, id: backing.slice(dir.length, -".qcow2".length) };
    }
    return undefined;
  }

  async function mustExist(kind: VolumeKind, id: string, action: string): Promise<VolumeInfo> {
    const v = await info(kind, id);
    if (!v) throw new StorageNotFoundError(label(kind, id), action);
    return v;
  }

  /**
   * Run `make(partial)` into a fresh partial file, then (under the mutex) rename it into place unless
   * a concurrent call finished first. Slow copies (imports, snapshots) run outside the mutex.
   */
  async function produce(kind: VolumeKind, id: string, action: string, make: (partial: string) => Promise<unknown>): Promise<VolumeInfo> {
    const path = fileOf(kind, id);
    const partial = `${path}.partial-${process.pid}-${++partials}`;
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await make(partial);
      return await meta.run(async () => {
        const done = await info(kind, id);
        if (done) return done;
        const { backingFile } = await readQcow2Header(partial);
        // The base may have been deleted while we copied (its dependents check could not see us).
        if (backingFile) await stat(backingFile);
        await rename(partial, path);
        return mustExist(kind, id, action);
      });
    } catch (cause) {
      if (cause instanceof StorageNotFoundError) throw cause;
      throw new StorageError(action, { cause });
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** QEMU holds a write lock on images it has open; qemu-img info (without -U) cannot then open it. */
  async function locked(path: string): Promise<boolean> {
    try {
      await runner.run("qemu-img", ["info", "-f", "qcow2", path], { timeoutMs: 30_000 });
      return false;
    } catch (err) {
      return /lock/i.test((err as { stderr?: string }).stderr ?? "");
    }
  }

  async function dependents(kind: VolumeKind, id: string): Promise<string[]> {
    const all = await list();
    return all.filter((v) => v.origin?.kind === kind && v.origin.id === id).map((v) => `${v.kind}:${v.id}`);
  }

  async function grow(v: VolumeInfo, sizeGiB: number, action: string): Promise<VolumeInfo> {
    const want = sizeGiB * GiB;
    if (want < v.sizeBytes) throw new InvalidSizeError(`${action}: ${sizeGiB} GiB is smaller than the current ${v.sizeBytes} bytes`);
    if (want === v.sizeBytes) return v;
    try {
      await qemuImg(["resize", "-f", "qcow2", v.path, String(want)]);
    } catch (cause) {
      throw new StorageError(action, { cause });
    }
    return { ...v, sizeBytes: want };
  }

  async function list(): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const kind of ["image", "snapshot", "volume"] as const) {
      let names: string[];
      try {
        names = await readdir(join(root, DIRS[kind]));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      for (const n of names.sort()) {
        const id = n.slice(0, -".qcow2".length);
        if (!n.endsWith(".qcow2") || !ID.test(id)) continue; // partials, stray files
        const v = await info(kind, id);
        if (v) out.push(v);
      }
    }
    return out;
  }

  const remove = (kind: VolumeKind, id: string) => meta.run(async () => {
    const action = `deleting ${label(kind, id)}`;
    if (kind !== "volume") {
      const deps = await dependents(kind, id);
      if (deps.length > 0) throw new StorageInUseError(label(kind, id), deps);
    }
    if (kind === "volume" && (await locked(fileOf(kind, id)))) {
      throw new StorageInUseError(label(kind, id), [], "its file is open (attached to a running VM?)");
    }
    try {
      await rm(fileOf(kind, id), { force: true });
    } catch (cause) {
      throw new StorageError(action, { cause });
    }
  });

  return {
    name: "file",
    format: "qcow2",

    async init() {
      for (const d of Object.values(DIRS)) {
        await mkdir(join(root, d), { recursive: true, mode: 0o700 }); // tenants' disks
        // Partial files are left only by a crash mid-copy: nothing will finish them.
        for (const n of await readdir(join(root, d))) if (n.includes(".qcow2.partial-")) await rm(join(root, d, n), { force: true });
      }
    },

    async createVolume(id: string, sizeGiB: number, opts: CreateVolumeOptions = {}) {
      const action = `creating volume "${id}"`;
      checkSize(action, sizeGiB);
      const existing = await info("volume", id);
      if (existing) return grow(existing, sizeGiB, action);
      if (opts.fromImage === undefined) {
        return produce("volume", id, action, (p) => qemuImg(["create", "-q", "-f", "qcow2", p, String(sizeGiB * GiB)]));
      }
      const image = await mustExist("image", opts.fromImage, action);
      if (sizeGiB * GiB < image.sizeBytes) throw new InvalidSizeError(`${action}: ${sizeGiB} GiB is smaller than image "${opts.fromImage}" (${image.sizeBytes} bytes)`);
      return produce("volume", id, action, (p) =>
        qemuImg(["create", "-q", "-f", "qcow2", "-b", image.path, "-F", "qcow2", p, String(sizeGiB * GiB)]));
    },

    async importImage(imageId: string, sourcePath: string, opts: ImportImageOptions = {}) {
      const action = `importing image "${imageId}"`;
      const existing = await info("image", imageId);
      if (existing) return existing;
      // Flatten whatever came in (raw, qcow2 with its own backing chain) into one standalone qcow2.
      return produce("image", imageId, action, (p) =>
        qemuImg(["convert", ...(opts.format ? ["-f", opts.format] : []), "-O", "qcow2", sourcePath, p]));
    },

    async resize(id: string, sizeGiB: number) {
      const action = `resizing volume "${id}"`;
      checkSize(action, sizeGiB);
      return grow(await mustExist("volume", id, action), sizeGiB, action);
    },

    async snapshot(volumeId: string, snapshotId: string) {
      const action = `snapshotting volume "${volumeId}" as "${snapshotId}"`;
      const existing = await info("snapshot", snapshotId);
      if (existing) return existing;
      const vol = await mustExist("volume", volumeId, action);
      // A snapshot is a point-in-time copy that keeps the volume's image as its backing file, so
      // it holds only the blocks the volume changed. (A volume in use by QEMU is locked: snapshot
      // running VMs through QMP instead.)
      const backing = vol.origin && vol.origin.kind !== "volume" ? fileOf(vol.origin.kind, vol.origin.id) : undefined;
      const args = ["convert", "-O", "qcow2", ...(backing ? ["-B", backing, "-F", "qcow2"] : []), vol.path];
      return produce("snapshot", snapshotId, action, (p) => qemuImg([...args, p]));
    },

    async cloneFromSnapshot(snapshotId: string, volumeId: string, sizeGiB?: number) {
      const action = `creating volume "${volumeId}" from snapshot "${snapshotId}"`;
      const snap = await mustExist("snapshot", snapshotId, action);
      const want = sizeGiB === undefined ? snap.sizeBytes : checkSize(action, sizeGiB) * GiB;
      if (want < snap.sizeBytes) throw new InvalidSizeError(`${action}: ${sizeGiB} GiB is smaller than the snapshot (${snap.sizeBytes} bytes)`);
      const existing = await info("volume", volumeId);
      if (existing) return existing;
      return produce("volume", volumeId, action, (p) =>
        qemuImg(["create", "-q", "-f", "qcow2", "-b", snap.path, "-F", "qcow2", p, String(want)]));
    },

    delete: (id: string) => remove("volume", id),
    deleteImage: (id: string) => remove("image", id),
    deleteSnapshot: (id: string) => remove("snapshot", id),

    path: (id: string) => fileOf("volume", id),

    list,

    async usage(): Promise<StorageUsage> {
      const fs = await statfs(root);
      let usedBytes = 0;
      let provisionedBytes = 0;
      for (const v of await list()) {
        provisionedBytes += v.sizeBytes;
        usedBytes += (await stat(v.path)).blocks * 512;
      }
      return { capacityBytes: fs.blocks * fs.bsize, usedBytes, provisionedBytes };
    },
  };
}
