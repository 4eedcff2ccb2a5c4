// Validators for placement data decoded off the wire (bids, adverts): DecodeError with the path.
import { DecodeError, expectArray, expectCount, expectMapOf, expectNumber, expectString, fields } from "../validate.ts";
import type { AllocationRatios, HostState, RequestSpec, Resources, ServerGroupSpec } from "./types.ts";

const POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"] as const;
const MAX_LIST = 1024;
const str = (x: unknown, p: string) => expectString(x, p, { max: 256 });
const strings = (x: unknown, p: string) => expectArray(x, p, str, { max: MAX_LIST });

export function readResources(value: unknown, path: string): Resources {
  const f = fields(value, path);
  return { vcpus: f.number("vcpus", { min: 0 }), ramMb: f.number("ramMb", { min: 0 }), diskGb: f.number("diskGb", { min: 0 }) };
}

function readRatios(value: unknown, path: string): AllocationRatios {
  const f = fields(value, path);
  return { cpu: f.number("cpu", { min: 0 }), ram: f.number("ram", { min: 0 }), disk: f.number("disk", { min: 0 }) };
}

function readGroup(value: unknown, path: string): ServerGroupSpec {
  const f = fields(value, path);
  const g: ServerGroupSpec = { id: f.string("id", { min: 1, max: 256 }), policy: f.oneOf("policy", POLICIES) };
  const max = f.optional("maxServerPerHost", (x, p) => expectCount(x, p, { min: 1 }));
  if (max !== undefined) g.maxServerPerHost = max;
  const hosts = f.optional("hosts", strings);
  if (hosts !== undefined) g.hosts = hosts;
  return g;
}

export function readRequestSpec(value: unknown, path: string): RequestSpec {
  const f = fields(value, path);
  const spec: RequestSpec = { serverId: f.string("serverId", { min: 1, max: 256 }), project: f.string("project", { max: 256 }), resources: f.field("resources", readResources) };
  const image = f.optional("image", (x, p) => {
    const g = fields(x, p);
    const props = g.optional("properties", (y, q) => {
      const h = fields(y, q);
      return {
        hw_architecture: h.optional("hw_architecture", str),
        img_hv_type: h.optional("img_hv_type", str),
        hw_vm_mode: h.optional("hw_vm_mode", str),
      };
    });
    return props ? { id: g.string("id"), properties: dropUndefined(props) } : { id: g.string("id") };
  });
  if (image) spec.image = image;
  const az = f.optional("az", str);
  if (az !== undefined) spec.az = az;
  const group = f.optional("group", readGroup);
  if (group) spec.group = group;
  for (const k of ["requiredTraits", "forbiddenTraits", "sameHost", "differentHost"] as const) {
    const v = f.optional(k, strings);
    if (v !== undefined) spec[k] = v;
  }
  return spec;
}

/** How a HostState travels: `groups` as [id, members] pairs (see readGroups). */
export type WireHostState = Omit<HostState, "groups"> & { groups: Array<[string, number]> };

/** The wire form of a host state (adverts, bids). */
export function wireHostState(h: HostState): WireHostState {
  return { ...h, groups: Object.entries(h.groups) };
}

/** A map of group id -> count without a hidden class per key set: ids are data, not property names. */
export function groupCounts(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

const groupId = (x: unknown, p: string) => expectString(x, p, { min: 1, max: 256 });
const groupCount = (x: unknown, p: string) => expectNumber(x, p, { min: 0 });

/**
 * Server-group counts as [id, n] pairs (or, from older peers, a map). Pairs, because a msgpack map
 * decodes to an object whose property names are the group ids: with thousands of groups every
 * decoded state got its own V8 hidden class (most of the decode time in a 10,000-node simulation).
 */
function readGroups(value: unknown, path: string): Record<string, number> {
  if (!Array.isArray(value)) return Object.assign(groupCounts(), expectMapOf(value, path, groupCount, { key: { min: 1, max: 256 } }));
  const out = groupCounts();
  expectArray(value, path, (pair, p) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new DecodeError(p, "expected an [id, count] pair");
    const id = groupId(pair[0], `${p}[0]`);
    if (id === "__proto__" || id === "__proto_") throw new DecodeError(`${p}[0]`, `forbidden key "${id}"`);
    out[id] = groupCount(pair[1], `${p}[1]`);
  }, { max: 10_000 });
  return out;
}

export function readHostState(value: unknown, path: string): HostState {
  const f = fields(value, path);
  return {
    node: f.nodeId("node"),
    az: f.field("az", str),
    aggregates: f.field("aggregates", strings),
    traits: f.field("traits", strings),
    arch: f.field("arch", str),
    hypervisor: f.field("hypervisor", str),
    vmModes: f.field("vmModes", strings),
    enabled: f.bool("enabled"),
    total: f.field("total", readResources),
    used: f.field("used", readResources),
    ratios: f.field("ratios", readRatios),
    images: f.field("images", (x, p) => expectArray(x, p, str, { max: 10_000 })),
    instances: f.count("instances"),
    groups: f.field("groups", readGroups),
  };
}



function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
