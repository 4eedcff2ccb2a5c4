// The storage driver interface: what the agent asks of a host's disks. Two implementations:
// file (qcow2 files, images as backing files) and lvm (thin LVs in a thin pool).
// Every method is idempotent: a retried call after a crash or timeout converges on the same state.

import type { Runner } from "../run.ts";

/** The one command runner (drivers/run.ts runs locally; drivers/guest/guest-runner.ts in the LVM test guest). */
export type CommandRunner = Runner;

export type VolumeKind = "volume" | "image" | "snapshot";

export interface VolumeInfo {
  id: string;
  kind: VolumeKind;
  /** Virtual size in bytes (what the guest sees). */
  sizeBytes: number;
  /** What QEMU attaches: a file path or /dev/<vg>/<lv>. */
  path: string;
  /** The image or snapshot this was cloned from, while the driver still tracks it. */
  origin?: { kind: VolumeKind; id: string };
}

/** Figures for the host ledger. */
export interface StorageUsage {
  /** Bytes the pool can hold (file: the filesystem; lvm: the thin pool's data size). */
  capacityBytes: number;
  /** Bytes physically in use. */
  usedBytes: number;
  /** Sum of virtual sizes of volumes, images and snapshots (over-commit = provisioned / capacity). */
  provisionedBytes: number;
}

export interface CreateVolumeOptions {
  /** Clone from this imported image (copy-on-write); the volume is at least the image's size. */
  fromImage?: string;
}

export interface ImportImageOptions {
  /** The QEMU format the catalog's disk_format means (image-check.ts qemuFormatOf). Always given:
   * a probe trusts the file's content, and a raw image can pose as a qcow2 with a backing file. */
  format: "qcow2" | "raw";
}

export interface StorageDriver {
  readonly name: string;
  /** QEMU's `format=` for path(): qcow2 for files, raw for block devices. */
  readonly format: "qcow2" | "raw";
  /** Prepare the pool (directories; the thin pool). Idempotent. */
  init(): Promise<void>;
  createVolume(id: string, sizeGiB: number, opts?: CreateVolumeOptions): Promise<VolumeInfo>;
  /** Make a base from an image file (qcow2 or raw): a qcow2 file, or an image LV. Checks the file first
   * (image-check.ts): UnsafeImageError for a backing or data file, or content of another format. */
  importImage(imageId: string, sourcePath: string, opts: ImportImageOptions): Promise<VolumeInfo>;
  /** Grow a volume; shrinking throws InvalidSizeError. */
  resize(id: string, sizeGiB: number): Promise<VolumeInfo>;
  snapshot(volumeId: string, snapshotId: string): Promise<VolumeInfo>;
  cloneFromSnapshot(snapshotId: string, volumeId: string, sizeGiB?: number): Promise<VolumeInfo>;
  /** Delete a volume; missing is not an error. */
  delete(id: string): Promise<void>;
  /** Delete an image; throws StorageInUseError while volumes are cloned from it. */
  deleteImage(imageId: string): Promise<void>;
  /** Delete a snapshot; throws StorageInUseError while volumes are cloned from it. */
  deleteSnapshot(snapshotId: string): Promise<void>;
  /** What QEMU attaches for a volume (no I/O; the volume may not exist). */
  path(id: string): string;
  /** Volumes, images and snapshots this driver holds. */
  list(): Promise<VolumeInfo[]>;
  usage(): Promise<StorageUsage>;
}

export const GiB = 1024 ** 3;

/** Ids become file and LV names: keep them to a safe alphabet (UUIDs fit). */
export const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export function checkId(what: string, id: string): string {
  if (!ID.test(id)) throw new TypeError(`invalid ${what} id "${id}"`);
  return id;
}

export function checkSize(what: string, sizeGiB: number): number {
  if (!Number.isInteger(sizeGiB) || sizeGiB <= 0) throw new TypeError(`invalid size ${sizeGiB} GiB for ${what}`);
  return sizeGiB;
}
