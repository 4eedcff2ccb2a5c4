// Record shapes shared by the API, placement and the reconciler. Records are flat maps of per-field
// LWW registers (protocol/crdt/lww-map.ts), so each field has one writer by convention:
//   - anyone (API):        name, desired, reboot_seq, reboot_type, metadata, ports
//   - placement (winner):  host, attempt
//   - the owner (host):    status, task_state, vm_state, power_state, fault, reboot_done, launched_at
// Concurrent writes to different fields never conflict. Field names follow Nova's where Nova has one.

export const SERVER = "server";
export const PORT = "port";
export const NETWORK = "network";
export const SUBNET = "subnet";
export const SECURITY_GROUP = "security_group";
export const SECURITY_GROUP_RULE = "security_group_rule";
export const IMAGE = "image";
/** An operator's switch per host (id = node id): `disabled` takes it out of placement (Nova's ComputeFilter). */
export const COMPUTE_SERVICE = "compute_service";

/** Nova's API status. */
export type ServerStatusName = "BUILD" | "ACTIVE" | "SHUTOFF" | "REBOOT" | "HARD_REBOOT" | "ERROR" | "DELETED";
/** What the user wants; the owner converges the host to it. */
export type DesiredState = "active" | "stopped" | "deleted";
export type RebootType = "SOFT" | "HARD";

/** Nova's power_state numbers. */
export const POWER = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6 } as const;

export interface Flavor {
  vcpus: number;
  /** MiB. */
  ram: number;
  /** GiB (root disk). */
  disk: number;
}

export interface ServerFault {
  code: number;
  message: string;
  created?: string;
}

export interface ServerMetadata {
  hostname?: string;
  key_name?: string;
  /** Public SSH keys handed to the guest. */
  ssh_keys?: string[];
  user_data?: string;
  /** Free key/values (Nova's server metadata). */
  extra?: Record<string, string>;
}

export interface ServerRecord {
  kind: typeof SERVER;
  id: string;
  name: string;
  project_id: string;
  flavor: Flavor;
  image_id: string;
  /** The node that won placement (the owner); absent while scheduling. */
  host?: string;
  attempt?: number;
  status: ServerStatusName;
  task_state: string | null;
  vm_state: string;
  power_state: number;
  desired: DesiredState;
  /** Incremented by whoever asks for a reboot; the owner reboots while reboot_done < reboot_seq. */
  reboot_seq?: number;
  reboot_type?: RebootType;
  reboot_done?: number;
  fault?: ServerFault | null;
  /** Port ids (kind "port") in NIC order. */
  ports?: string[];
  metadata?: ServerMetadata;
  created_at?: string;
  updated_at?: string;
  launched_at?: string | null;
}

/** The owner-written fields for each steady or transitional state (Nova's vm_state/task_state/power_state). */
export const SERVER_STATES = {
  building: (task: string) => ({ status: "BUILD", vm_state: "building", task_state: task, power_state: POWER.NOSTATE }),
  active: () => ({ status: "ACTIVE", vm_state: "active", task_state: null, power_state: POWER.RUNNING }),
  stopping: () => ({ status: "ACTIVE", vm_state: "active", task_state: "powering-off", power_state: POWER.RUNNING }),
  starting: () => ({ status: "SHUTOFF", vm_state: "stopped", task_state: "powering-on", power_state: POWER.SHUTDOWN }),
  shutoff: () => ({ status: "SHUTOFF", vm_state: "stopped", task_state: null, power_state: POWER.SHUTDOWN }),
  rebooting: (t: RebootType) => ({ status: t === "HARD" ? "HARD_REBOOT" : "REBOOT", vm_state: "active", task_state: t === "HARD" ? "rebooting_hard" : "rebooting", power_state: POWER.RUNNING }),
  deleting: () => ({ status: "DELETED", vm_state: "deleted", task_state: "deleting", power_state: POWER.NOSTATE }),
  error: (power: number) => ({ status: "ERROR", vm_state: "error", task_state: null, power_state: power }),
} as const satisfies Record<string, (...a: never[]) => { status: ServerStatusName; vm_state: string; task_state: string | null; power_state: number }>;

/** A port record as the networking API writes it (kind "port"), the fields the reconciler reads. */
export interface PortRecord {
  kind: typeof PORT;
  id: string;
  network_id: string;
  mac_address: string;
  fixed_ips?: { subnet_id: string; ip_address: string }[];
  device_id?: string;
  /** The host the port is bound to (the owner of its server writes it when it plugs the port). */
  binding_host_id?: string;
  /** Underlay (VTEP) address of binding_host_id; written with it, read for l2population. */
  binding_vtep?: string;
  status?: string;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Reads a stored record as a ServerRecord, filling Nova's defaults; undefined when it is not one. */
export function asServer(r: { kind: string; id: string; [k: string]: unknown } | undefined): ServerRecord | undefined {
  if (!r || r.kind !== SERVER) return undefined;
  const f = (r.flavor ?? {}) as Partial<Flavor>;
  const desired = r.desired === "stopped" || r.desired === "deleted" ? r.desired : "active";
  return {
    ...(r as object),
    kind: SERVER,
    id: r.id,
    name: typeof r.name === "string" ? r.name : "",
    project_id: typeof r.project_id === "string" ? r.project_id : "",
    flavor: { vcpus: num(f.vcpus) ?? 1, ram: num(f.ram) ?? 256, disk: num(f.disk) ?? 1 },
    image_id: typeof r.image_id === "string" ? r.image_id : "",
    host: typeof r.host === "string" && r.host ? r.host : undefined,
    status: (typeof r.status === "string" ? r.status : "BUILD") as ServerStatusName,
    task_state: typeof r.task_state === "string" ? r.task_state : null,
    vm_state: typeof r.vm_state === "string" ? r.vm_state : "building",
    power_state: num(r.power_state) ?? POWER.NOSTATE,
    desired,
    reboot_seq: num(r.reboot_seq) ?? 0,
    reboot_type: r.reboot_type === "HARD" ? "HARD" : "SOFT",
    reboot_done: num(r.reboot_done) ?? 0,
    ports: Array.isArray(r.ports) ? r.ports.map(String) : [],
  } as ServerRecord;
}

/** The root disk's volume id for a server (storage ids: [A-Za-z0-9_.-]). */
export const rootVolumeId = (serverId: string) => `${serverId}-root`;

/** The tap of a port (Neutron's naming: "tap" + the first 11 characters of the port id; <= 15 chars). */
export const tapNameFor = (portId: string) => `tap${portId.slice(0, 11)}`;
