// The bidder: a host answers bid requests from its own ledger (the only authority over its capacity),
// holding what it offers for a short TTL; an award with the same attempt turns the hold into a claim.
import type { Transport } from "../../node/mesh/transport.ts";
import type { CapacityAdverts } from "./capacity.ts";
import type { Claim, Ledger } from "./ledger.ts";
import { weigh, type HostCapacity, type PlacementRequest, type Weigher } from "./policy.ts";
import { AWARD_PROTOCOL, BID_PROTOCOL, pack, RELEASE_PROTOCOL, unpack } from "./wire.ts";

export interface BidAsk {
  req: PlacementRequest;
  attempt: number;
}
export interface BidAnswer {
  ok: boolean;
  score: number;
  cap: HostCapacity;
}
export interface AwardAsk {
  server: string;
  attempt: number;
}

export interface BidderHooks {
  /** A claim was made here (checkers watch claims from outside). */
  onClaim?: (node: string, claim: Claim) => void;
}

export class Bidder {
  private readonly c: { transport: Transport; ledger: Ledger; adverts: CapacityAdverts };
  private readonly holdTtlMs: number;
  private readonly weigher: Weigher;
  private readonly hooks: BidderHooks;

  constructor(init: { holdTtlMs: number; weigher: Weigher; hooks?: BidderHooks }, c: { transport: Transport; ledger: Ledger; adverts: CapacityAdverts }) {
    this.c = c;
    this.holdTtlMs = init.holdTtlMs;
    this.weigher = init.weigher;
    this.hooks = init.hooks ?? {};
  }

  start(): void {
    const { transport, ledger, adverts } = this.c;
    transport.handle(BID_PROTOCOL, async (_from, data) => {
      const ask = unpack<BidAsk>(data);
      const claim: Claim = { server: ask.req.server, project: ask.req.project, flavor: ask.req.flavor, group: ask.req.group?.id, attempt: ask.attempt };
      const groupClash = ask.req.group?.policy === "anti-affinity" && ledger.hostsGroup(ask.req.group.id, ask.req.server);
      const ok = !groupClash && ledger.tryHold(claim, this.holdTtlMs);
      const cap = ledger.capacity(true);
      if (ok) adverts.changed();
      return pack({ ok, score: ok ? weigh(cap, this.weigher) : 0, cap } satisfies BidAnswer);
    });
    transport.handle(AWARD_PROTOCOL, async (_from, data) => {
      const ask = unpack<AwardAsk>(data);
      const ok = ledger.award(ask.server, ask.attempt);
      if (ok) {
        const claim = ledger.claims.get(ask.server);
        if (claim) this.hooks.onClaim?.(ledger.node, claim);
        adverts.changed();
      }
      return pack({ ok });
    });
    transport.handle(RELEASE_PROTOCOL, async (_from, data) => {
      const ask = unpack<AwardAsk & { free?: boolean }>(data);
      if (ask.free && (ask.attempt < 0 || ledger.claims.get(ask.server)?.attempt === ask.attempt)) ledger.free(ask.server);
      else ledger.release(ask.server, ask.attempt);
      adverts.changed();
      return pack({ ok: true });
    });
  }
}
