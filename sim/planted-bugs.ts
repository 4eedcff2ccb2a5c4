// Bugs planted on purpose, to prove the checkers catch them.
import { Ledger, type HostDescription } from "../node/capacity/ledger.ts";

/** A ledger whose bidder ignores its holds: it re-checks bids against claims only (`countHolds: false`). */
export function holdBlindLedger(d: HostDescription): Ledger {
  return new Ledger(d, { countHolds: false });
}
