// Binds the reconciler to real drivers for one agent: qemu compute under <dataDir>/instances, file
// (or lvm, with a volume group) storage, the bridge + VXLAN network driver when an underlay is
// configured, and a local image cache. Logic lives in node/reconciler; this file only binds.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { computeConfigFor, createComputeDriver } from "../../drivers/compute/registry.ts";
import type { ComputeDriver } from "../../drivers/compute/interface.ts";
import { bridgeVxlanDriver } from "../../drivers/network/bridge-vxlan.ts";
import type { NetworkDriver } from "../../drivers/network/interface.ts";
import { localRunner } from "../../drivers/run.ts";
import { createStorageDriver, storageConfigFor } from "../../drivers/storage/registry.ts";
import type { StorageDriver } from "../../drivers/storage/interface.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import { reconciler, type Reconciler } from "../reconciler/reconciler.ts";
import type { ImageSource, ReconcilerInit, ReconcilerStore } from "../reconciler/types.ts";
import { volumeReconciler } from "../reconciler/volumes.ts";
import { secgroupEnforcer } from "../reconciler/secgroups.ts";
import { nftSecgroupTable } from "../../drivers/network/secgroup-table.ts";
import { systemClock } from "../runtime/system.ts";

export class ImageNotCachedError extends PeerstackError {
  constructor(imageId: string, dir: string) {
    super("IMAGE_NOT_CACHED", `image "${imageId}" is not in this host's image cache ${dir}`);
  }
}

/**
 * The local image cache: `<dir>/<imageId>` is the image file; an optional `<dir>/<imageId>.boot.json`
 * `{kernel, initrd?, cmdline?}` asks for direct kernel boot (the test image ships one).
 */
export function localImageCache(dir: string): ImageSource {
  return {
    async localPath(imageId) {
      const p = join(dir, imageId);
      if (!existsSync(p)) throw new ImageNotCachedError(imageId, dir);
      return p;
    },
    async kernel(imageId) {
      const p = join(dir, `${imageId}.boot.json`);
      if (!existsSync(p)) return undefined;
      const b = JSON.parse(readFileSync(p, "utf8")) as { kernel: string; initrd?: string; cmdline?: string };
      return { path: b.kernel, ...(b.initrd ? { initrd: b.initrd } : {}), ...(b.cmdline ? { cmdline: b.cmdline } : {}) };
    },
  };
}

export interface ReconcilerWiring {
  dataDir: string;
  self: string;
  store: ReconcilerStore;
  log: Logger;
  /** LVM volume group for volumes (else qcow2 files under <dataDir>/storage). */
  vg?: string;
  /** VXLAN underlay: without it, servers with ports go to ERROR on this host. */
  underlay?: { dev: string; localIp: string };
  imageCacheDir?: string;
  images?: ImageSource;
  compute?: ComputeDriver;
  storage?: StorageDriver;
  network?: NetworkDriver;
  init?: ReconcilerInit;
  /** The node default for servers that do not say (default on). */
  configDrive?: boolean;
}

export interface RunningReconciler {
  reconciler: Reconciler;
  compute: ComputeDriver;
  storage: StorageDriver;
  stop(): Promise<void>;
}

/** Options from the environment (PEERSTACK_RECONCILER=off disables; PEERSTACK_VG; PEERSTACK_UNDERLAY=dev,ip; PEERSTACK_CONFIG_DRIVE=off: no config drive unless asked). */
export function reconcilerEnv(env: NodeJS.ProcessEnv = process.env): { enabled: boolean; vg?: string; underlay?: { dev: string; localIp: string }; configDrive: boolean } {
  const u = env.PEERSTACK_UNDERLAY?.split(",");
  return {
    enabled: env.PEERSTACK_RECONCILER !== "off",
    configDrive: env.PEERSTACK_CONFIG_DRIVE !== "off",
    ...(env.PEERSTACK_VG ? { vg: env.PEERSTACK_VG } : {}),
    ...(u && u.length === 2 ? { underlay: { dev: u[0]!, localIp: u[1]! } } : {}),
  };
}

export async function startReconciler(w: ReconcilerWiring): Promise<RunningReconciler> {
  const log = w.log.child({ component: "reconciler" });
  const compute = w.compute ?? createComputeDriver(computeConfigFor({ dataDir: w.dataDir }), { logger: log });
  const storage = w.storage ?? createStorageDriver(storageConfigFor({ vg: w.vg, dataDir: w.dataDir }), localRunner);
  const network = w.network ?? (w.underlay ? bridgeVxlanDriver({ runner: localRunner, stateDir: join(w.dataDir, "network") }) : undefined);
  const images = w.images ?? localImageCache(w.imageCacheDir ?? join(w.dataDir, "images"));
  const r = reconciler({ ...(w.underlay ? { underlay: w.underlay } : {}), ...(w.configDrive === false ? { configDrive: false } : {}), ...w.init })({
    self: w.self,
    clock: systemClock,
    store: w.store,
    compute,
    storage,
    ...(network ? { network } : {}),
    images,
    log,
  });
  await r.start();
  // Cinder volumes and snapshots this node holds, with the same drivers (node/reconciler/volumes.ts).
  const volumes = volumeReconciler(w.init?.resyncMs ? { resyncMs: w.init.resyncMs } : {})({ self: w.self, clock: systemClock, store: w.store, compute, storage, images, log: log.child({ component: "volumes" }) });
  await volumes.start();
  // Security groups are enforced where a port's device is: only on hosts with a network driver.
  const netns = w.init?.netns;
  const secgroups = network
    ? secgroupEnforcer()({ self: w.self, clock: systemClock, store: w.store, table: nftSecgroupTable({ runner: localRunner, stateDir: join(w.dataDir, "network"), ...(netns ? { netns } : {}) }), log: log.child({ component: "secgroups" }) })
    : undefined;
  await secgroups?.start().catch((err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, "security groups not loaded"));
  return {
    reconciler: r,
    compute,
    storage,
    async stop() {
      await secgroups?.stop();
      await volumes.stop();
      await r.stop();
    },
  };
}
