// The reconciler's components: drivers behind their interfaces, the store, an injected clock.
import type { Clock } from "../../protocol/clock.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import type { ComputeDriver } from "../../drivers/compute/interface.ts";
import type { StorageDriver } from "../../drivers/storage/interface.ts";
import type { NetworkDriver } from "../../drivers/network/interface.ts";
import type { CrdtStore } from "../store/crdt-store.ts";

/** Where this host finds an image's bits (today a local cache; later p2p transfer from peers). */
export interface ImageSource {
  /** A local file holding the image (qcow2 or raw); fetched first when needed. */
  localPath(imageId: string): Promise<string>;
  /** Direct kernel boot for this image, when the image carries one (much faster under TCG). */
  kernel?(imageId: string): Promise<{ path: string; initrd?: string; cmdline?: string } | undefined>;
}

export interface ReconcilerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReconcilerInit {
  /** Every this often, every owned record is converged again (and orphans collected). Default 10 s. */
  resyncMs?: number;
  /** Graceful stop: wait this long for the guest after the ACPI power button. Default 60 s. */
  stopTimeoutMs?: number;
  /** Soft reboot: wait this long for the guest before a reset. Default 60 s. */
  rebootTimeoutMs?: number;
  /** Underlay of this host's VXLAN networks (needed for servers with ports). */
  underlay?: { dev: string; localIp: string };
  /** This host's DHCP server address in a subnet (from its address block); absent = no DHCP. */
  dhcpServerIp?(subnet: { id: string; network_id: string; cidr: string }): string | undefined;
  /** Start QEMU inside this network namespace (where the network driver makes the taps). */
  netns?: string;
  /** Servers that do not say (server create `config_drive`) get a config drive. Default true. */
  configDrive?: boolean;
}

export type ReconcilerStore = Pick<CrdtStore, "put" | "remove" | "get" | "list" | "onChange" | "stateOf">;

export interface ReconcilerComponents {
  /** This node's id: records with host == self are ours. */
  self: string;
  clock: Clock;
  store: ReconcilerStore;
  compute: ComputeDriver;
  storage: StorageDriver;
  network?: NetworkDriver;
  images: ImageSource;
  log?: ReconcilerLog;
}

/** A server's host-side effect failed; the message names the server and the step. */
export class ReconcileError extends PeerstackError {
  readonly serverId: string;
  constructor(serverId: string, step: string, cause: unknown) {
    super("RECONCILE_FAILED", `${step} for server "${serverId}": ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.serverId = serverId;
  }
}

/** A record the server needs (port, network, subnet, image) is missing or unusable. */
export class MissingDependencyError extends PeerstackError {
  constructor(message: string) {
    super("RECONCILE_MISSING_DEPENDENCY", message);
  }
}
