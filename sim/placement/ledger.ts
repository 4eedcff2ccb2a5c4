// A host's authoritative ledger: claims (servers placed here) and holds (bids that may still be
// awarded). A hold expires after its TTL, so a front node that crashes mid-auction leaks nothing.
// Claims survive a restart (they are the host's running servers); holds do not.
import type { Clock } from "../../protocol/clock.ts";
import { add, fits, ZERO, type HostCapacity, type Resources } from "./policy.ts";

export interface Claim {
  server: string;
  project: string;
  flavor: Resources;
  group?: string;
  attempt: number;
}

interface Hold extends Claim {
  expiresAt: number;
}

export class Ledger {
  readonly node: string;
  readonly az: string;
  readonly total: Resources;
  readonly ratios: Resources;
  readonly claims = new Map<string, Claim>();
  private holds = new Map<string, Hold>();
  private readonly clock: Clock;

  constructor(init: { node: string; az: string; total: Resources; ratios: Resources }, clock: Clock) {
    this.node = init.node;
    this.az = init.az;
    this.total = init.total;
    this.ratios = init.ratios;
    this.clock = clock;
  }

  /** Used = claims + unexpired holds. */
  capacity(countHolds = true): HostCapacity {
    let used = ZERO;
    for (const c of this.claims.values()) used = add(used, c.flavor);
    if (countHolds) {
      const now = this.clock.now();
      for (const [id, h] of this.holds) {
        if (h.expiresAt <= now) this.holds.delete(id);
        else used = add(used, h.flavor);
      }
    }
    return { node: this.node, az: this.az, total: this.total, used, ratios: this.ratios };
  }

  /** Places a hold if the server fits next to every claim and live hold; false otherwise. */
  tryHold(c: Claim, ttlMs: number): boolean {
    if (this.claims.has(c.server)) return true;
    if (!this.canFit(c.flavor)) return false;
    this.holds.set(c.server, { ...c, expiresAt: this.clock.now() + ttlMs });
    return true;
  }

  /** Overridable so tests can plant a bug (a bidder that ignores its holds). */
  protected canFit(f: Resources): boolean {
    return fits(this.capacity(true), f);
  }

  /** Turns a live hold with this attempt into a claim; a late or stale award is refused. */
  award(server: string, attempt: number): boolean {
    if (this.claims.get(server)?.attempt === attempt) return true;
    const h = this.holds.get(server);
    if (!h || h.attempt !== attempt || h.expiresAt <= this.clock.now()) return false;
    this.holds.delete(server);
    this.claims.set(server, { server: h.server, project: h.project, flavor: h.flavor, group: h.group, attempt: h.attempt });
    return true;
  }

  /** Another server of `group` is claimed or held here (anti-affinity is enforced by the host). */
  hostsGroup(group: string, except: string): boolean {
    const now = this.clock.now();
    for (const c of this.claims.values()) if (c.group === group && c.server !== except) return true;
    for (const h of this.holds.values()) if (h.group === group && h.server !== except && h.expiresAt > now) return true;
    return false;
  }

  release(server: string, attempt: number): void {
    if (this.holds.get(server)?.attempt === attempt) this.holds.delete(server);
  }

  /** The server was deleted: its claim goes. */
  free(server: string): Claim | undefined {
    const c = this.claims.get(server);
    this.claims.delete(server);
    return c;
  }

  /** Restart: holds lived in memory only. */
  dropHolds(): void {
    this.holds = new Map();
  }
}

/** The planted bug for checker tests: checks fit against claims only, ignoring live holds. */
export class HoldBlindLedger extends Ledger {
  protected override canFit(f: Resources): boolean {
    return fits(this.capacity(false), f);
  }
}
