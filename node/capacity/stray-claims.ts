// The stray-claim rule (docs/notes/placement.md): a host releases a claim that the replicated server
// record contradicts — the record names another host, a higher placement_attempt, went to ERROR
// without a host, or was deleted. Such claims come from an award whose answer was lost, or a front
// node that died before its retried release got through; nobody else can free them. A record not
// seen yet keeps its claim (the award usually arrives before the record's gossip).
import type { Allocation, Ledger } from "./ledger.ts";

/** A server record's fields (CatalogRecord); the rule reads host, placement_attempt, status, deleted. */
export type ServerView = Readonly<Record<string, unknown>>;

export type StrayReason = "other-host" | "newer-attempt" | "error-unplaced" | "deleted";

/** Why the claim (`attempt`) held here for this record is stray, or undefined when it stands. */
export function strayReason(self: string, attempt: number, record: ServerView | undefined, tombstoned: boolean): StrayReason | undefined {
  if (!record) return tombstoned ? "deleted" : undefined;
  if (record.deleted === true || record.status === "DELETED") return "deleted";
  const host = typeof record.host === "string" && record.host !== "" ? record.host : undefined;
  if (host !== undefined && host !== self) return "other-host";
  const recorded = typeof record.placement_attempt === "number" ? record.placement_attempt : 0;
  if (recorded > attempt) return "newer-attempt";
  if (host === undefined && record.status === "ERROR") return "error-unplaced";
  return undefined;
}

export interface StrayClaimsComponents {
  self: string;
  ledger: Ledger;
  /** The server record (undefined if unknown) and whether a tombstone for it is known. */
  lookup(serverId: string): { record: ServerView | undefined; tombstoned: boolean };
  onRelease?(serverId: string, reason: StrayReason): void;
}

export interface StrayClaims {
  /** Applies the rule to one server (call on every change of its record). */
  check(serverId: string): StrayReason | undefined;
  /** Applies the rule to every claim (at start and periodically). Returns how many were released. */
  sweep(): number;
}

export function strayClaims(c: StrayClaimsComponents): StrayClaims {
  const check = (serverId: string, claim: Allocation | undefined): StrayReason | undefined => {
    if (!claim) return undefined;
    const { record, tombstoned } = c.lookup(serverId);
    const why = strayReason(c.self, claim.attempt, record, tombstoned);
    if (why && c.ledger.release(serverId)) c.onRelease?.(serverId, why);
    return why;
  };
  return {
    check(serverId) {
      return c.ledger.hasClaim(serverId) ? check(serverId, c.ledger.claimsList().find((a) => a.serverId === serverId)) : undefined;
    },
    sweep() {
      let n = 0;
      for (const a of c.ledger.claimsList()) if (check(a.serverId, a)) n++;
      return n;
    },
  };
}
