// Scenario files (JSON): hosts, network, workload, faults, placement and catalog settings, duration and
// seed. Missing settings take the defaults below; unknown top-level keys are refused.
import { readFileSync } from "node:fs";
import { PeerstackError } from "../protocol/errors.ts";
import type { LatencySpec } from "./net/latency.ts";
import type { AllocationRatios, Resources } from "../protocol/placement/index.ts";

export type Weigher = "spread" | "pack";

export interface Flavor extends Resources {
  name: string;
  /** Flavor extra specs trait:X=required. */
  requiredTraits?: string[];
}

export interface HostGroup {
  count: number;
  /** Hosts are spread evenly over `sites` AZs named `${prefix}${i}`. */
  sites: number;
  prefix: string;
  shape: Resources;
  ratios: AllocationRatios;
  /** Host aggregates and traits (TraitsFilter matches flavors' requiredTraits against traits). */
  aggregates?: string[];
  traits?: string[];
}

export interface PartitionFault {
  atMs: number;
  durationMs: number;
  /** split-azs: even AZs vs odd AZs; halves: random halves of all nodes; isolate-az: AZ 0 alone. */
  kind: "split-azs" | "halves" | "isolate-az";
}

export interface Faults {
  loss: number;
  duplicate: number;
  reorder: number;
  reorderMs: number;
  partitions: PartitionFault[];
  /** Nodes crashed at random times during the safety phase, each down for downMs. */
  crashes: { count: number; downMs: number };
  /** Each node's wall clock is off by up to this much (uniform ±). */
  clockSkewMs: number;
}

export interface Workload {
  /** Poisson arrivals. */
  ratePerSec: number;
  /** Stop after this many placement requests (or at the end of the safety phase). */
  placements: number;
  flavors: Array<Flavor & { weight: number }>;
  /** Mean server lifetime (exponential); 0 = servers live forever. */
  lifetimeMeanMs: number;
  /** Fraction of requests that belong to an anti-affinity server group of `size` members. */
  groups: { fraction: number; size: number };
  projects: { count: number; instancesLimit: number; coresLimit: number };
}

export interface PlacementSettings {
  k: number;
  maxAttempts: number;
  bidTimeoutMs: number;
  holdTtlMs: number;
  weigher: Weigher;
  advertRefreshMs: number;
  advertCoalesceMs: number;
  /** Adverts older than this are not candidates (keep it above advertRefreshMs). */
  maxAdvertAgeMs: number;
}

export interface CatalogSettings {
  /** Run the real CrdtStore + replicator on every node and write server records. */
  replicate: boolean;
  antiEntropyMs: number;
  peerWatchMs: number;
}

export interface QuotaSettings {
  /** "node": the real node/quota escrow (per-AZ delta topic); "standin": the sim's older stand-in. */
  escrow: "node" | "standin";
}

export interface Scenario {
  name: string;
  seed: number;
  /** Safety phase: workload and faults. */
  durationMs: number;
  /** Liveness phase: faults stop, no new work; everything must converge. */
  livenessMs: number;
  hosts: HostGroup[];
  network: { lan: LatencySpec; wan: LatencySpec };
  workload: Workload;
  faults: Faults;
  placement: PlacementSettings;
  catalog: CatalogSettings;
  quota: QuotaSettings;
  /**
   * Split the run into this many shards of whole AZs, run in parallel worker threads (sim/run.ts).
   * Only without catalog replication: then AZs never talk to each other. Part of what the seed
   * determines: the same scenario with another shard count draws other latencies.
   */
  shards: number;
}

export class ScenarioError extends PeerstackError {
  constructor(file: string, why: string, options?: { cause?: unknown }) {
    super("SIM_SCENARIO_INVALID", `scenario "${file}": ${why}`, options);
  }
}

export const DEFAULT_FAULTS: Faults = { loss: 0, duplicate: 0, reorder: 0, reorderMs: 0, partitions: [], crashes: { count: 0, downMs: 0 }, clockSkewMs: 0 };
export const DEFAULT_PLACEMENT: PlacementSettings = { k: 3, maxAttempts: 3, bidTimeoutMs: 500, holdTtlMs: 2000, weigher: "spread", advertRefreshMs: 10_000, advertCoalesceMs: 100, maxAdvertAgeMs: 30_000 };
export const DEFAULT_CATALOG: CatalogSettings = { replicate: true, antiEntropyMs: 3000, peerWatchMs: 1000 };

export const DEFAULT_QUOTA: QuotaSettings = { escrow: "node" };

const KEYS = new Set(["name", "seed", "durationMs", "livenessMs", "hosts", "network", "workload", "faults", "placement", "catalog", "quota", "shards", "description"]);

export function parseScenario(json: unknown, file = "inline"): Scenario {
  if (json == null || typeof json !== "object") throw new ScenarioError(file, "not a JSON object");
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new ScenarioError(file, `unknown key "${k}"`);
  const s = o as unknown as Scenario;
  if (!Array.isArray(s.hosts) || s.hosts.length === 0) throw new ScenarioError(file, "hosts must be a non-empty list");
  for (const h of s.hosts) if (!(h.count > 0) || !(h.sites > 0) || !h.shape || !h.ratios) throw new ScenarioError(file, "each host group needs count, sites, shape, ratios");
  if (!s.workload || !Array.isArray(s.workload.flavors) || s.workload.flavors.length === 0) throw new ScenarioError(file, "workload.flavors must be a non-empty list");
  if (!(s.durationMs > 0)) throw new ScenarioError(file, "durationMs must be > 0");
  if (s.quota?.escrow !== undefined && s.quota.escrow !== "node" && s.quota.escrow !== "standin") throw new ScenarioError(file, `quota.escrow must be "node" or "standin"`);
  const shards = s.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new ScenarioError(file, "shards must be an integer from 1 to 64");
  const catalog = { ...DEFAULT_CATALOG, ...(s.catalog ?? {}) };
  if (shards > 1 && catalog.replicate) throw new ScenarioError(file, "shards > 1 needs catalog.replicate false (the catalog is gossiped between all AZs)");
  return {
    name: String(s.name ?? file),
    seed: Number(s.seed ?? 1) >>> 0,
    durationMs: s.durationMs,
    livenessMs: s.livenessMs ?? 30_000,
    hosts: s.hosts.map((h) => ({ ...h, prefix: h.prefix ?? "az" })),
    network: s.network ?? { lan: { kind: "lognormal", medianMs: 0.3, sigma: 0.3, minMs: 0.1 }, wan: { kind: "lognormal", medianMs: 20, sigma: 0.3, minMs: 5 } },
    workload: s.workload,
    faults: { ...DEFAULT_FAULTS, ...(s.faults ?? {}), crashes: { ...DEFAULT_FAULTS.crashes, ...(s.faults?.crashes ?? {}) } },
    placement: { ...DEFAULT_PLACEMENT, ...(s.placement ?? {}) },
    catalog,
    quota: { ...DEFAULT_QUOTA, ...(s.quota ?? {}) },
    shards,
  };
}

export function loadScenario(path: string): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new ScenarioError(path, "cannot read it as JSON", { cause });
  }
  return parseScenario(json, path);
}
