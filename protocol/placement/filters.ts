// Nova's default filters plus the resource filters, as pure predicates over (HostState, RequestSpec).
// Names follow nova.scheduler.filters so a reader can compare semantics one by one.
import { fits, free, type HostState, type RequestSpec } from "./types.ts";

export interface Filter {
  name: string;
  passes(host: HostState, spec: RequestSpec): boolean;
}

/** ComputeFilter: the host is enabled (not disabled by an operator, not declared dead). */
export const computeFilter: Filter = { name: "ComputeFilter", passes: (h) => h.enabled };

/** AvailabilityZoneFilter: host in the requested AZ (none requested = any). */
export const availabilityZoneFilter: Filter = { name: "AvailabilityZoneFilter", passes: (h, s) => s.az == null || s.az === "" || h.az === s.az };

/** RamFilter / CoreFilter / DiskFilter: used + requested <= total x allocation ratio. */
export const ramFilter: Filter = { name: "RamFilter", passes: (h, s) => s.resources.ramMb <= free(h).ramMb };
export const coreFilter: Filter = { name: "CoreFilter", passes: (h, s) => s.resources.vcpus <= free(h).vcpus };
export const diskFilter: Filter = { name: "DiskFilter", passes: (h, s) => s.resources.diskGb <= free(h).diskGb };

/** ImagePropertiesFilter: hw_architecture, img_hv_type, hw_vm_mode must match the host when set. */
export const imagePropertiesFilter: Filter = {
  name: "ImagePropertiesFilter",
  passes: (h, s) => {
    const p = s.image?.properties;
    if (!p) return true;
    if (p.hw_architecture && canonicalArch(p.hw_architecture) !== canonicalArch(h.arch)) return false;
    if (p.img_hv_type && canonicalHv(p.img_hv_type) !== canonicalHv(h.hypervisor)) return false;
    if (p.hw_vm_mode && !h.vmModes.includes(p.hw_vm_mode)) return false;
    return true;
  },
};

/** ComputeCapabilitiesFilter as Placement does traits: every required trait present, no forbidden one. */
export const traitsFilter: Filter = {
  name: "TraitsFilter",
  passes: (h, s) => (s.requiredTraits ?? []).every((t) => h.traits.includes(t)) && !(s.forbiddenTraits ?? []).some((t) => h.traits.includes(t)),
};

/** ServerGroupAffinityFilter: once the group has members, only their hosts. */
export const serverGroupAffinityFilter: Filter = {
  name: "ServerGroupAffinityFilter",
  passes: (h, s) => {
    if (s.group?.policy !== "affinity") return true;
    const hosts = s.group.hosts ?? [];
    // Only the group's known hosts count: a host's own group count includes holds of bids it lost.
    return hosts.length === 0 || hosts.includes(h.node);
  },
};

/** ServerGroupAntiAffinityFilter: fewer than max_server_per_host (default 1) members on the host. */
export const serverGroupAntiAffinityFilter: Filter = {
  name: "ServerGroupAntiAffinityFilter",
  passes: (h, s) => s.group?.policy !== "anti-affinity" || (h.groups[s.group.id] ?? 0) < (s.group.maxServerPerHost ?? 1),
};

/** SameHostFilter / DifferentHostFilter (scheduler hints same_host / different_host). */
export const sameHostFilter: Filter = { name: "SameHostFilter", passes: (h, s) => !s.sameHost?.length || s.sameHost.includes(h.node) };
export const differentHostFilter: Filter = { name: "DifferentHostFilter", passes: (h, s) => !s.differentHost?.length || !s.differentHost.includes(h.node) };

export const DEFAULT_FILTERS: readonly Filter[] = [
  computeFilter,
  availabilityZoneFilter,
  ramFilter,
  coreFilter,
  diskFilter,
  imagePropertiesFilter,
  traitsFilter,
  serverGroupAntiAffinityFilter,
  serverGroupAffinityFilter,
  sameHostFilter,
  differentHostFilter,
];

/** The hosts passing every filter, in input order. */
export function filterHosts(hosts: Iterable<HostState>, spec: RequestSpec, filters: readonly Filter[] = DEFAULT_FILTERS): HostState[] {
  const out: HostState[] = [];
  for (const h of hosts) if (filters.every((f) => f.passes(h, spec))) out.push(h);
  return out;
}

/** The first filter a host fails, for the bidder's refusal reason; undefined if it passes. */
export function firstFailure(host: HostState, spec: RequestSpec, filters: readonly Filter[] = DEFAULT_FILTERS): string | undefined {
  return filters.find((f) => !f.passes(host, spec))?.name;
}

export { fits };

// Nova canonicalises architecture and hypervisor names (nova.objects.fields).
function canonicalArch(a: string): string {
  const x = a.toLowerCase();
  if (x === "amd64" || x === "x64" || x === "i86pc") return "x86_64";
  if (x === "arm64") return "aarch64";
  return x;
}

// Our hosts run QEMU with KVM where it works, so an image asking for kvm matches a qemu host.
function canonicalHv(v: string): string {
  const x = v.toLowerCase();
  return x === "kvm" ? "qemu" : x;
}
