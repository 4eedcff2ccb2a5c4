// The bidder: every host answers bid requests by re-checking against its own ledger (the authority)
// and holding the resources for a TTL; an award turns the hold into a claim; releases free it.
// Duplicates are idempotent and stale attempts are fenced (the ledger does both).
import type { Clock } from "../../protocol/clock.ts";
import { firstFailure, type Filter } from "../../protocol/placement/index.ts";
import type { Ledger } from "../capacity/ledger.ts";
import type { Transport } from "../mesh/transport.ts";
import { decode, encode } from "../mesh/wire.ts";
import { AWARD_PROTOCOL, BATCH_PROTOCOL, BID_PROTOCOL, readAwardAsk, readBatchAsk, readBidAsk, readReleaseAsk, RELEASE_PROTOCOL, writeBidAnswer, type AwardAnswer, type AwardAsk, type BatchAnswer, type BidAnswer, type BidAsk, type ReleaseAsk } from "./messages.ts";

export interface BidderInit {
  filters?: readonly Filter[];
  /** Longest hold a requester may ask for. */
  maxHoldTtlMs?: number;
}

export interface BidderComponents {
  clock: Clock;
  ledger: Ledger;
  transport: Transport;
}

export interface BidderHooks {
  /** Called once per server when this host claims it. */
  onClaim?(serverId: string, attempt: number): void;
  /** Awaited before a remote award's answer: makes the claim survive a crash (node/capacity/claim-journal.ts). */
  durable?(serverId: string, attempt: number): Promise<void>;
}

export interface Bidder {
  start(): void;
  stop(): void;
  /** The same operations, in process (the requester uses them when it is itself a candidate). */
  bid(ask: BidAsk): BidAnswer;
  award(ask: AwardAsk): AwardAnswer;
  release(ask: ReleaseAsk): boolean;
  hooks: BidderHooks;
}

const CAPACITY_FILTERS = new Set(["RamFilter", "CoreFilter", "DiskFilter", "ServerGroupAntiAffinityFilter"]);

export function bidder(init: BidderInit = {}): (c: BidderComponents) => Bidder {
  const maxTtl = init.maxHoldTtlMs ?? 60_000;
  return (c) => {
    let running = false;
    const self: Bidder = {
      hooks: {},
      bid(ask) {
        const ttl = Math.min(ask.holdTtlMs, maxTtl);
        const r = c.ledger.hold(ask.spec, ask.attempt, c.clock.now(), ttl, init.filters);
        if (r.ok) return { ok: true, state: r.state };
        return { ok: false, reason: r.reason, busy: busyWithHolds(c.ledger, r.reason, ask, init.filters) };
      },
      award(ask) {
        const outcome = c.ledger.claim(ask.serverId, ask.attempt, c.clock.now());
        if (outcome === "claimed") self.hooks.onClaim?.(ask.serverId, ask.attempt);
        return { outcome };
      },
      release(ask) {
        return c.ledger.release(ask.serverId, ask.attempt);
      },
      start() {
        if (running) return;
        running = true;
        const me = c.transport.self;
        c.transport.handle(BID_PROTOCOL, async (_from, data) => encode("auction.bid", me, writeBidAnswer(self.bid(readBidAsk(decode(data, ["auction.bid"]).body)))));
        c.transport.handle(AWARD_PROTOCOL, async (_from, data) => {
          const ask = readAwardAsk(decode(data, ["auction.award"]).body);
          const answer = self.award(ask);
          if (answer.outcome === "claimed" && self.hooks.durable) await self.hooks.durable(ask.serverId, ask.attempt);
          return encode<AwardAnswer>("auction.award", me, answer);
        });
        c.transport.handle(RELEASE_PROTOCOL, async (_from, data) =>
          encode("auction.release", me, { freed: self.release(readReleaseAsk(decode(data, ["auction.release"]).body)) }),
        );
        c.transport.handle(BATCH_PROTOCOL, async (_from, data) => {
          const ops = readBatchAsk(decode(data, ["auction.batch"]).body);
          const durable: Promise<void>[] = [];
          // In order, as if sent one by one; claims are made durable together before the answer.
          const answers: BatchAnswer[] = ops.map((o) => {
            try {
              if (o.op === "bid") return { ok: true, body: writeBidAnswer(self.bid(readBidAsk(o.body))) };
              if (o.op === "award") {
                const ask = readAwardAsk(o.body);
                const answer = self.award(ask);
                if (answer.outcome === "claimed" && self.hooks.durable) durable.push(self.hooks.durable(ask.serverId, ask.attempt));
                return { ok: true, body: answer };
              }
              return { ok: true, body: { freed: self.release(readReleaseAsk(o.body)) } };
            } catch (err) {
              return { ok: false, error: err instanceof Error ? err.message : String(err) };
            }
          });
          await Promise.all(durable);
          return encode("auction.batch", me, { answers });
        });
      },
      stop() {
        running = false;
        const gone = async () => {
          throw new Error("auction stopped");
        };
        for (const p of [BID_PROTOCOL, AWARD_PROTOCOL, RELEASE_PROTOCOL, BATCH_PROTOCOL]) c.transport.handle(p, gone);
      },
    };
    return self;
  };
}

/** A refusal is "busy" when the server would fit if other requests' holds lapsed: worth asking again. */
function busyWithHolds(ledger: Ledger, reason: string, ask: BidAsk, filters?: readonly Filter[]): boolean {
  if (!CAPACITY_FILTERS.has(reason)) return false;
  const holds = ledger.holdsList();
  if (holds.length === 0) return false;
  const state = ledger.state();
  for (const h of holds) {
    state.used.vcpus -= h.resources.vcpus;
    state.used.ramMb -= h.resources.ramMb;
    state.used.diskGb -= h.resources.diskGb;
    if (h.group && state.groups[h.group]) state.groups[h.group]--;
  }
  return firstFailure(state, ask.spec, filters) === undefined;
}
