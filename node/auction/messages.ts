// Auction wire messages (direct streams), in the mesh's versioned envelope.
import { readHostState, readRequestSpec, wireHostState, type HostState, type RequestSpec } from "../../protocol/placement/index.ts";
import { fields } from "../../protocol/validate.ts";

export const BID_PROTOCOL = "/peerstack/auction/bid/1";
export const AWARD_PROTOCOL = "/peerstack/auction/award/1";
export const RELEASE_PROTOCOL = "/peerstack/auction/release/1";

export interface BidAsk {
  spec: RequestSpec;
  attempt: number;
  holdTtlMs: number;
}

/** A bid: the host's fresh state with the hold in it, or a refusal and whether a retry may succeed. */
export type BidAnswer = { ok: true; state: HostState } | { ok: false; reason: string; busy: boolean };

export interface AwardAsk {
  serverId: string;
  attempt: number;
}

export interface AwardAnswer {
  outcome: string;
}

export interface ReleaseAsk {
  serverId: string;
  attempt: number;
}

export function readBidAsk(body: unknown): BidAsk {
  const f = fields(body, "body");
  return { spec: f.field("spec", readRequestSpec), attempt: f.count("attempt", { min: 1 }), holdTtlMs: f.count("holdTtlMs", { max: 600_000 }) };
}

/** A bid answer as it travels (the state's groups as pairs, see protocol/placement/wire.ts). */
export function writeBidAnswer(a: BidAnswer): unknown {
  return a.ok ? { ok: true, state: wireHostState(a.state) } : a;
}

export function readBidAnswer(body: unknown): BidAnswer {
  const f = fields(body, "body");
  if (f.bool("ok")) return { ok: true, state: f.field("state", readHostState) };
  return { ok: false, reason: f.string("reason", { max: 256 }), busy: f.bool("busy") };
}

export function readAwardAsk(body: unknown): AwardAsk {
  const f = fields(body, "body");
  return { serverId: f.string("serverId", { min: 1, max: 256 }), attempt: f.count("attempt", { min: 1 }) };
}

export function readAwardAnswer(body: unknown): AwardAnswer {
  return { outcome: fields(body, "body").string("outcome", { max: 64 }) };
}

export const readReleaseAsk = readAwardAsk;
