import { describe, expect, it } from "vitest";
import { DEFAULT_FILTERS, filterHosts, firstFailure, type Filter } from "./filters.ts";
import { host, request } from "./testing.ts";
import type { HostState, RequestSpec } from "./types.ts";

// Each row: a host, a request, and whether Nova's filter (by name) lets it through.
const cases: [string, Partial<HostState>, Partial<RequestSpec>, string | undefined][] = [
  ["fits exactly at ram ratio 1.0", { used: { vcpus: 0, ramMb: 15872, diskGb: 0 } }, {}, undefined],
  ["one MiB too much ram", { used: { vcpus: 0, ramMb: 15873, diskGb: 0 } }, {}, "RamFilter"],
  ["ram ratio 1.5 admits over the physical total", { used: { vcpus: 0, ramMb: 20000, diskGb: 0 }, ratios: { cpu: 4, ram: 1.5, disk: 1 } }, {}, undefined],
  ["cpu ratio 4.0: 8 cores take 32 vcpus", { used: { vcpus: 31, ramMb: 0, diskGb: 0 } }, {}, undefined],
  ["cpu ratio 4.0: the 33rd vcpu is refused", { used: { vcpus: 32, ramMb: 0, diskGb: 0 } }, {}, "CoreFilter"],
  ["cpu ratio 16.0 (old Nova default)", { used: { vcpus: 100, ramMb: 0, diskGb: 0 }, ratios: { cpu: 16, ram: 1, disk: 1 } }, {}, undefined],
  ["disk full", { used: { vcpus: 0, ramMb: 0, diskGb: 200 } }, {}, "DiskFilter"],
  ["disabled host", { enabled: false }, {}, "ComputeFilter"],
  ["other AZ", { az: "edge-2" }, { az: "edge-1" }, "AvailabilityZoneFilter"],
  ["same AZ", { az: "edge-1" }, { az: "edge-1" }, undefined],
  ["no AZ asked", { az: "edge-2" }, {}, undefined],
  ["image arch matches (amd64 = x86_64)", {}, { image: { id: "i", properties: { hw_architecture: "amd64" } } }, undefined],
  ["image arch differs", {}, { image: { id: "i", properties: { hw_architecture: "aarch64" } } }, "ImagePropertiesFilter"],
  ["image hv kvm runs on qemu host", {}, { image: { id: "i", properties: { img_hv_type: "kvm" } } }, undefined],
  ["image hv xen refused", {}, { image: { id: "i", properties: { img_hv_type: "xen" } } }, "ImagePropertiesFilter"],
  ["vm mode hvm", {}, { image: { id: "i", properties: { hw_vm_mode: "hvm" } } }, undefined],
  ["vm mode xen refused", {}, { image: { id: "i", properties: { hw_vm_mode: "xen" } } }, "ImagePropertiesFilter"],
  ["required trait present", { traits: ["HW_CPU_X86_AVX2"] }, { requiredTraits: ["HW_CPU_X86_AVX2"] }, undefined],
  ["required trait missing", {}, { requiredTraits: ["HW_CPU_X86_AVX2"] }, "TraitsFilter"],
  ["forbidden trait present", { traits: ["CUSTOM_SLOW"] }, { forbiddenTraits: ["CUSTOM_SLOW"] }, "TraitsFilter"],
  ["anti-affinity: a member already here", { groups: { g: 1 } }, { group: { id: "g", policy: "anti-affinity" } }, "ServerGroupAntiAffinityFilter"],
  ["anti-affinity max_server_per_host 2", { groups: { g: 1 } }, { group: { id: "g", policy: "anti-affinity", maxServerPerHost: 2 } }, undefined],
  ["anti-affinity: other group here", { groups: { h: 3 } }, { group: { id: "g", policy: "anti-affinity" } }, undefined],
  ["soft anti-affinity never filters", { groups: { g: 4 } }, { group: { id: "g", policy: "soft-anti-affinity" } }, undefined],
  ["affinity: first member goes anywhere", {}, { group: { id: "g", policy: "affinity", hosts: [] } }, undefined],
  ["affinity: members elsewhere", {}, { group: { id: "g", policy: "affinity", hosts: ["b"] } }, "ServerGroupAffinityFilter"],
  ["affinity: members here", {}, { group: { id: "g", policy: "affinity", hosts: ["a"] } }, undefined],
  ["affinity: a hold here does not make a member", { groups: { g: 1 } }, { group: { id: "g", policy: "affinity", hosts: ["b"] } }, "ServerGroupAffinityFilter"],
  ["same_host hint", {}, { sameHost: ["b"] }, "SameHostFilter"],
  ["same_host hint here", {}, { sameHost: ["a", "b"] }, undefined],
  ["different_host hint", {}, { differentHost: ["a"] }, "DifferentHostFilter"],
];

describe("Nova filters", () => {
  it.each(cases)("%s", (_name, h, r, failing) => {
    expect(firstFailure(host("a", h), request("s1", r))).toBe(failing);
  });

  it("filterHosts keeps input order and drops failures", () => {
    const hosts = [host("a"), host("b", { az: "x" }), host("c")];
    expect(filterHosts(hosts, request("s", { az: "nova" })).map((h) => h.node)).toEqual(["a", "c"]);
  });

  it("a custom filter list replaces the defaults", () => {
    const none: Filter = { name: "None", passes: () => false };
    expect(filterHosts([host("a")], request("s"), [none])).toEqual([]);
    expect(DEFAULT_FILTERS.map((f) => f.name)).toContain("RamFilter");
  });
});
