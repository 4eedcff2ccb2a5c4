// Placement data: what a server asks for (RequestSpec) and what a host offers (HostState). Plain data,
// msgpack-safe, shared by the front node's filters/weighers, the bidder's re-check and the simulator.

export type GroupPolicy = "affinity" | "anti-affinity" | "soft-affinity" | "soft-anti-affinity";

export interface Resources {
  vcpus: number;
  ramMb: number;
  diskGb: number;
}

export interface AllocationRatios {
  cpu: number;
  ram: number;
  disk: number;
}

/** Nova's initial_*_allocation_ratio defaults (since Stein): cpu 4.0, ram 1.0, disk 1.0. */
export const DEFAULT_RATIOS: Readonly<AllocationRatios> = Object.freeze({ cpu: 4.0, ram: 1.0, disk: 1.0 });

/** Image properties ImagePropertiesFilter looks at (Glance names). */
export interface ImageProperties {
  hw_architecture?: string;
  img_hv_type?: string;
  hw_vm_mode?: string;
}

export interface ServerGroupSpec {
  id: string;
  policy: GroupPolicy;
  /** Nova's anti-affinity rule `max_server_per_host` (microversion 2.64), default 1. */
  maxServerPerHost?: number;
  /** Hosts already running members (as Nova's request spec carries group_hosts); filled by the front node. */
  hosts?: string[];
}

export interface RequestSpec {
  serverId: string;
  project: string;
  /** From the flavor: vcpus, ram (MiB), root disk (GiB) + ephemeral + swap. */
  resources: Resources;
  image?: { id: string; properties?: ImageProperties };
  /** Availability zone asked for; none = any. */
  az?: string;
  group?: ServerGroupSpec;
  /** Flavor extra specs `trait:X=required` / `trait:X=forbidden`. */
  requiredTraits?: string[];
  forbiddenTraits?: string[];
  /** Scheduler hints, already resolved from instance ids to the node ids hosting them. */
  sameHost?: string[];
  differentHost?: string[];
}

/** One host as the scheduler sees it: from a capacity advert (front node) or its own ledger (bidder). */
export interface HostState {
  node: string;
  az: string;
  aggregates: string[];
  traits: string[];
  arch: string;
  hypervisor: string;
  vmModes: string[];
  /** ComputeFilter: a disabled host (operator or dead) takes nothing. */
  enabled: boolean;
  total: Resources;
  /** Claims + unexpired holds. */
  used: Resources;
  ratios: AllocationRatios;
  images: string[];
  instances: number;
  /** Server-group id -> members on (or held for) this host. */
  groups: Record<string, number>;
}

/** Limit of a resource: total x ratio (Nova compares used + requested <= limit, no rounding). */
export function limits(h: Pick<HostState, "total" | "ratios">): Resources {
  return { vcpus: h.total.vcpus * h.ratios.cpu, ramMb: h.total.ramMb * h.ratios.ram, diskGb: h.total.diskGb * h.ratios.disk };
}

export function free(h: Pick<HostState, "total" | "ratios" | "used">): Resources {
  const l = limits(h);
  return { vcpus: l.vcpus - h.used.vcpus, ramMb: l.ramMb - h.used.ramMb, diskGb: l.diskGb - h.used.diskGb };
}

export function fits(h: Pick<HostState, "total" | "ratios" | "used">, r: Resources): boolean {
  const f = free(h);
  return r.vcpus <= f.vcpus && r.ramMb <= f.ramMb && r.diskGb <= f.diskGb;
}

export function addResources(a: Resources, b: Resources, sign = 1): Resources {
  return { vcpus: a.vcpus + sign * b.vcpus, ramMb: a.ramMb + sign * b.ramMb, diskGb: a.diskGb + sign * b.diskGb };
}

export const NO_RESOURCES: Readonly<Resources> = Object.freeze({ vcpus: 0, ramMb: 0, diskGb: 0 });
