// Builders for placement tests and the simulator: a host and a request with sensible defaults.
import { DEFAULT_RATIOS, type HostState, type RequestSpec } from "./types.ts";

export function host(node: string, over: Partial<HostState> = {}): HostState {
  return {
    node,
    az: "nova",
    aggregates: [],
    traits: [],
    arch: "x86_64",
    hypervisor: "qemu",
    vmModes: ["hvm"],
    enabled: true,
    total: { vcpus: 8, ramMb: 16384, diskGb: 200 },
    used: { vcpus: 0, ramMb: 0, diskGb: 0 },
    ratios: { ...DEFAULT_RATIOS },
    images: [],
    instances: 0,
    groups: {},
    ...over,
  };
}

export function request(serverId: string, over: Partial<RequestSpec> = {}): RequestSpec {
  return { serverId, project: "p1", resources: { vcpus: 1, ramMb: 512, diskGb: 1 }, ...over };
}
