// A host's own capacity ledger: the single authority over what it has promised. used = claims +
// holds; a hold (made when bidding) expires after its TTL unless an award turns it into a claim.
// Every operation is fenced by the placement attempt number, so late or duplicated bids, awards and
// releases are harmless. Pure logic: time comes in as `now` arguments.
import { DEFAULT_RATIOS, addResources, firstFailure, groupCounts, NO_RESOURCES } from "../../protocol/placement/index.ts";
import type { AllocationRatios, Filter, HostState, RequestSpec, Resources } from "../../protocol/placement/index.ts";

export interface HostDescription {
  node: string;
  az?: string;
  aggregates?: string[];
  traits?: string[];
  arch?: string;
  hypervisor?: string;
  vmModes?: string[];
  total: Resources;
  ratios?: Partial<AllocationRatios>;
}

export interface Allocation {
  serverId: string;
  attempt: number;
  resources: Resources;
  group?: string;
  /** Holds only: when the hold lapses (ms, the ledger's clock). */
  expiresAt?: number;
}

export interface LedgerOptions {
  /**
   * Tests only (the simulator's planted bug): `false` leaves holds out of `state()`, so the bidder's
   * re-check and the adverts ignore them and concurrent auctions can over-commit. Default true.
   */
  countHolds?: boolean;
}

export type HoldOutcome = { ok: true; state: HostState } | { ok: false; reason: string };
export type ClaimOutcome = "claimed" | "already-claimed" | "no-hold" | "fenced" | "claimed-elsewhere";

export class Ledger {
  readonly node: string;
  private readonly desc: Required<Omit<HostDescription, "ratios">> & { ratios: AllocationRatios };
  private readonly holds = new Map<string, Allocation>();
  private readonly claims = new Map<string, Allocation>();
  /** Highest attempt seen per server: anything older is refused. */
  private readonly fences = new Map<string, number>();
  private used: Resources = { ...NO_RESOURCES };
  /** The claims' part of `used`. */
  private claimedUse: Resources = { ...NO_RESOURCES };
  /** Taken on this host by something other than servers (Cinder volumes on its disk): counted as used. */
  private reserved: Resources = { ...NO_RESOURCES };
  private readonly groups = new Map<string, number>();
  private enabled = true;
  private images: string[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly countHolds: boolean;
  /** snapshot() until the next change. */
  private snap: HostState | undefined;

  constructor(d: HostDescription, opts: LedgerOptions = {}) {
    this.node = d.node;
    this.countHolds = opts.countHolds ?? true;
    this.desc = {
      node: d.node,
      az: d.az ?? "nova",
      aggregates: d.aggregates ?? [],
      traits: d.traits ?? [],
      arch: d.arch ?? "x86_64",
      hypervisor: d.hypervisor ?? "qemu",
      vmModes: d.vmModes ?? ["hvm"],
      total: { ...d.total },
      ratios: { ...DEFAULT_RATIOS, ...d.ratios },
    };
  }

  /** Called after every change (adverts coalesce on it). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The host as filters see it (holds counted as used): a fresh copy the caller may change. */
  state(): HostState {
    const groups = groupCounts();
    for (const [g, n] of this.groups) groups[g] = n;
    let used = this.usage();
    if (!this.countHolds) {
      for (const h of this.holds.values()) {
        used = addResources(used, h.resources, -1);
        if (h.group && groups[h.group]) groups[h.group]--;
      }
    }
    return {
      node: this.node,
      az: this.desc.az,
      aggregates: this.desc.aggregates,
      traits: this.desc.traits,
      arch: this.desc.arch,
      hypervisor: this.desc.hypervisor,
      vmModes: this.desc.vmModes,
      enabled: this.enabled,
      total: this.desc.total,
      used,
      ratios: this.desc.ratios,
      images: this.images,
      instances: this.claims.size,
      groups,
    };
  }

  /**
   * The same as state(), frozen and shared until the next change: adverts, the local view and bids
   * read it after every change, so one copy per change instead of one per reader.
   */
  snapshot(): HostState {
    if (!this.snap) {
      const s = this.state();
      Object.freeze(s.used);
      Object.freeze(s.groups);
      this.snap = Object.freeze(s);
    }
    return this.snap;
  }

  /** Bids: re-checks the request against this ledger (authoritative) and holds the resources. */
  hold(spec: RequestSpec, attempt: number, now: number, ttlMs: number, filters?: readonly Filter[]): HoldOutcome {
    this.expire(now);
    const id = spec.serverId;
    const claim = this.claims.get(id);
    if (claim) return claim.attempt === attempt ? { ok: true, state: this.snapshot() } : { ok: false, reason: "claimed-elsewhere" };
    if (attempt < (this.fences.get(id) ?? 0)) return { ok: false, reason: "fenced" };
    this.fences.set(id, attempt);
    const old = this.holds.get(id);
    if (old) {
      if (old.attempt === attempt) return { ok: true, state: this.snapshot() }; // duplicate bid request
      this.drop(this.holds, old); // an older attempt's hold gives way to the newer one
    }
    const failed = firstFailure(this.snapshot(), spec, filters);
    if (failed) {
      if (old) this.notify();
      return { ok: false, reason: failed };
    }
    this.add(this.holds, { serverId: id, attempt, resources: { ...spec.resources }, group: spec.group?.id, expiresAt: now + ttlMs });
    return { ok: true, state: this.snapshot() };
  }

  /** Awards: turns this attempt's hold into a claim. Idempotent. */
  claim(serverId: string, attempt: number, now: number): ClaimOutcome {
    this.expire(now);
    const claim = this.claims.get(serverId);
    if (claim) return claim.attempt === attempt ? "already-claimed" : "claimed-elsewhere";
    if (attempt < (this.fences.get(serverId) ?? 0)) return "fenced";
    const hold = this.holds.get(serverId);
    if (!hold || hold.attempt !== attempt) return "no-hold";
    this.holds.delete(serverId);
    this.claims.set(serverId, { ...hold, expiresAt: undefined });
    this.claimedUse = addResources(this.claimedUse, hold.resources);
    this.notify();
    return "claimed";
  }

  /**
   * Drops the hold or claim of `serverId` made by `attempt` or earlier (all when attempt is omitted,
   * e.g. the server was deleted). Returns true if something was freed.
   */
  release(serverId: string, attempt?: number): boolean {
    if (attempt !== undefined && attempt > (this.fences.get(serverId) ?? 0)) this.fences.set(serverId, attempt);
    let freed = false;
    for (const map of [this.holds, this.claims]) {
      const a = map.get(serverId);
      if (a && (attempt === undefined || a.attempt <= attempt)) {
        this.drop(map, a);
        freed = true;
      }
    }
    if (freed) this.notify();
    return freed;
  }

  /** Drops holds whose TTL passed; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const h of this.holds.values()) {
      if ((h.expiresAt ?? Infinity) <= now) {
        this.drop(this.holds, h);
        n++;
      }
    }
    if (n > 0) this.notify();
    return n;
  }

  /** Re-adopts a claim found in the store after a restart (no checks: it was granted before). */
  adopt(a: Allocation): void {
    if (this.claims.has(a.serverId)) return;
    this.add(this.claims, { ...a, expiresAt: undefined });
  }

  /** ComputeFilter: an operator disables/enables the host. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.notify();
  }

  setImages(images: string[]): void {
    this.images = [...images];
    this.notify();
  }

  /** The resources promised (claims + holds) and reserved. */
  usage(): Resources {
    const r = this.reserved;
    return r.vcpus === 0 && r.ramMb === 0 && r.diskGb === 0 ? { ...this.used } : addResources(this.used, r);
  }

  /** What the host gives to other things than servers (volumes): filters and adverts count it as used. */
  setReserved(r: Resources): void {
    const old = this.reserved;
    if (old.vcpus === r.vcpus && old.ramMb === r.ramMb && old.diskGb === r.diskGb) return;
    this.reserved = { vcpus: r.vcpus, ramMb: r.ramMb, diskGb: r.diskGb };
    this.notify();
  }

  reservedUsage(): Resources {
    return { ...this.reserved };
  }

  /** The resources of the claims alone (servers this host runs), holds not counted. */
  claimedUsage(): Resources {
    return { ...this.claimedUse };
  }

  claimsList(): Allocation[] {
    return [...this.claims.values()];
  }

  /** The claims without copying them (do not change the ledger while iterating). */
  allClaims(): IterableIterator<Allocation> {
    return this.claims.values();
  }

  holdsList(): Allocation[] {
    return [...this.holds.values()];
  }

  hasClaim(serverId: string): boolean {
    return this.claims.has(serverId);
  }

  /** Forgets fences of servers with neither hold nor claim (memory bound for long runs). */
  pruneFences(keep: (serverId: string) => boolean = () => false): void {
    for (const id of this.fences.keys()) if (!this.holds.has(id) && !this.claims.has(id) && !keep(id)) this.fences.delete(id);
  }

  private add(map: Map<string, Allocation>, a: Allocation): void {
    this.snap = undefined;
    map.set(a.serverId, a);
    this.used = addResources(this.used, a.resources);
    if (map === this.claims) this.claimedUse = addResources(this.claimedUse, a.resources);
    if (a.group) this.groups.set(a.group, (this.groups.get(a.group) ?? 0) + 1);
    this.notify();
  }

  private drop(map: Map<string, Allocation>, a: Allocation): void {
    this.snap = undefined;
    map.delete(a.serverId);
    this.used = addResources(this.used, a.resources, -1);
    if (map === this.claims) this.claimedUse = addResources(this.claimedUse, a.resources, -1);
    if (a.group) {
      const n = (this.groups.get(a.group) ?? 0) - 1;
      if (n > 0) this.groups.set(a.group, n);
      else this.groups.delete(a.group);
    }
  }

  private notify(): void {
    this.snap = undefined;
    for (const fn of this.listeners) fn();
  }
}
