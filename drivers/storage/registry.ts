// Picks the storage driver from the host's configuration: lvm where a volume group is
// configured, the file driver otherwise.
import type { CommandRunner, StorageDriver } from "./interface.ts";
import { fileStorage } from "./file.ts";
import { lvmStorage } from "./lvm.ts";

export type StorageConfig =
  | { driver: "file"; root: string }
  | { driver: "lvm"; vg: string; pool?: string; poolPercentOfFree?: number };

export const storageDrivers = {
  file: (c: Extract<StorageConfig, { driver: "file" }>, runner: CommandRunner) => fileStorage({ root: c.root, runner }),
  lvm: (c: Extract<StorageConfig, { driver: "lvm" }>, runner: CommandRunner) =>
    lvmStorage({ vg: c.vg, pool: c.pool, poolPercentOfFree: c.poolPercentOfFree, runner }),
} as const;

/** The driver for a host: `{ vg }` set means lvm, else qcow2 files under `dataDir/volumes`. */
export function storageConfigFor(opts: { vg?: string; pool?: string; dataDir: string }): StorageConfig {
  return opts.vg ? { driver: "lvm", vg: opts.vg, pool: opts.pool } : { driver: "file", root: `${opts.dataDir}/storage` };
}

export function createStorageDriver(config: StorageConfig, runner: CommandRunner): StorageDriver {
  return config.driver === "lvm" ? storageDrivers.lvm(config, runner) : storageDrivers.file(config, runner);
}
