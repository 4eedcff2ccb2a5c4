// The compute driver interface: what the agent asks of a host's hypervisor. One implementation
// today (qemu.ts: one qemu-system-x86_64 per server, detached so it outlives the agent).
// Methods a driver does not support throw NotSupportedError (drivers/errors.ts).
import { PeerstackError } from "../../protocol/errors.ts";

export interface DiskSpec {
  /** A qcow2/raw file or a block device (LVM LV): what the storage driver's VolumeInfo.path says. */
  path: string;
  /** Default: raw for block devices, else detected from the file header. */
  format?: "qcow2" | "raw";
  readOnly?: boolean;
}

export interface NicSpec {
  /** The tap the network driver made (QEMU opens it; script=no). */
  tap: string;
  mac: string;
  /** Tells the guest its MTU (virtio host_mtu), e.g. 1450 on VXLAN networks. */
  mtu?: number;
}

/** Instance metadata handed to the guest through fw_cfg (opt/peerstack/<key>). */
export interface GuestMetadata {
  hostname?: string;
  /** CIDR for the first NIC, e.g. 10.0.0.5/24 (absent: the guest uses DHCP). */
  ip?: string;
  gateway?: string;
  mtu?: number;
  sshKeys?: string[];
  /** More keys, passed as is (names: [a-z0-9_]+). */
  extra?: Record<string, string>;
}

/** What the config drive (OpenStack `config-2`) tells the guest; see config-drive.ts. */
export interface ConfigDriveData {
  uuid: string;
  name: string;
  hostname: string;
  availabilityZone: string;
  projectId: string;
  launchIndex?: number;
  instanceType?: string;
  keys: Array<{ name: string; data: string }>;
  /** Nova's server metadata (key/values). */
  meta?: Record<string, string>;
  /** As the compute API stores it. */
  userDataBase64?: string;
  securityGroups?: string[];
  /** One per NIC: id (Nova uses the tap name), MAC, MTU. */
  links: Array<{ id: string; mac: string; mtu?: number }>;
  /** One per fixed IP: the link it is on, CIDR address, gateway, DNS servers. */
  networks: Array<{ link: string; networkId: string; address: string; gateway?: string; dns?: string[] }>;
}

export interface ServerSpec {
  /** The server's id (the catalog's UUID); names the instance directory. */
  id: string;
  name?: string;
  /** Default 1. */
  vcpus?: number;
  memoryMb: number;
  /** The first is the boot disk. */
  disks: DiskSpec[];
  nics: NicSpec[];
  metadata?: GuestMetadata;
  /** Built into a read-only `config-2` ISO at each start (absent: no config drive). */
  configDrive?: ConfigDriveData;
  /** Direct kernel boot (much faster under TCG); the root still comes from the disk. */
  kernel?: { path: string; initrd?: string; cmdline?: string };
  /** Start the hypervisor inside this network namespace (where the taps live). */
  netns?: string;
  /** Default "auto": KVM where it really works, else TCG. */
  accel?: "auto" | "kvm" | "tcg";
}

/** A volume hot-plugged into a running server (storage driver's path and format). */
export interface VolumeDisk {
  volumeId: string;
  path: string;
  format: "qcow2" | "raw";
}

export type PowerState = "running" | "paused" | "shutdown" | "stopped";

export interface ServerStatus {
  id: string;
  state: PowerState;
  /** Hypervisor process id while it runs. */
  pid?: number;
  /** The accelerator the running process uses. */
  accel?: "kvm" | "tcg";
  /** QEMU's own run state (query-status), while it runs. */
  detail?: string;
}

export interface StopOptions {
  /** Wait this long for the guest to power off after the ACPI power button (default 60 s); then force. 0 = force now. */
  timeoutMs?: number;
}

export interface RebootOptions {
  /** Soft: wait this long for the guest to reboot itself (default 60 s), then reset. */
  timeoutMs?: number;
}

export interface ComputeDriver {
  readonly name: string;
  /** Records the spec and boots the server. Idempotent: an existing server with this id is started if stopped. */
  create(spec: ServerSpec): Promise<ServerStatus>;
  /** Boots a stopped server from its recorded spec (resumes a paused one). */
  start(id: string): Promise<ServerStatus>;
  /** ACPI power button, then (after timeoutMs) a forced stop. Stopping a stopped server is a no-op. */
  stop(id: string, opts?: StopOptions): Promise<ServerStatus>;
  /** soft: ask the guest (ctrl-alt-del), falling back to a reset; hard: reset now. */
  reboot(id: string, kind: "soft" | "hard", opts?: RebootOptions): Promise<ServerStatus>;
  /** Forced stop, then forget the server (its disks belong to the storage driver). Deleting an unknown id is a no-op. */
  delete(id: string): Promise<void>;
  status(id: string): Promise<ServerStatus>;
  /** The serial console output (the last `tailBytes`, default all). */
  consoleLog(id: string, opts?: { tailBytes?: number }): Promise<string>;
  /** Every server this driver knows on this host. */
  list(): Promise<ServerStatus[]>;
  /** On agent start: find servers whose hypervisor still runs (from a previous agent) and take them over. */
  adopt(): Promise<ServerStatus[]>;
  /** Hot-plugs a volume into the running server (idempotent). */
  attachVolume?(id: string, disk: VolumeDisk): Promise<void>;
  /** Unplugs it (the guest must release it within timeoutMs, default 30 s); not plugged = no-op. */
  detachVolume?(id: string, volumeId: string, opts?: { timeoutMs?: number }): Promise<void>;
  /** Is the volume plugged into the running server? */
  volumeAttached?(id: string, volumeId: string): Promise<boolean>;
}

export class ServerNotFoundError extends PeerstackError {
  readonly serverId: string;
  constructor(id: string, action: string) {
    super("SERVER_NOT_FOUND", `${action}: server "${id}" is not on this host`);
    this.serverId = id;
  }
}

/** The hypervisor failed to start, or an operation on a running one failed. */
export class ComputeError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("COMPUTE_FAILED", options?.cause instanceof Error ? `${message}: ${options.cause.message}` : message, options);
  }
}

/** The spec cannot be run (bad id, missing disk, socket path too long …). */
export class InvalidServerSpecError extends PeerstackError {
  constructor(message: string) {
    super("INVALID_SERVER_SPEC", message);
  }
}
