// Bugs planted on purpose, to prove the checkers catch them.
import { addResources } from "../protocol/placement/index.ts";
import { Ledger } from "../node/capacity/ledger.ts";
import type { HostState } from "../protocol/placement/index.ts";

/** A ledger whose bidder ignores its holds: it re-checks bids against claims only. */
export class HoldBlindLedger extends Ledger {
  override state(): HostState {
    const s = super.state();
    for (const h of this.holdsList()) {
      s.used = addResources(s.used, h.resources, -1);
      if (h.group && s.groups[h.group]) s.groups[h.group]--;
    }
    return s;
  }
}
