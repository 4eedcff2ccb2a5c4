// Auction wire messages (direct streams), in the mesh's versioned envelope.
import { readHostState, readRequestSpec, wireHostState, type HostState, type RequestSpec } from "../../protocol/placement/index.ts";
import { DecodeError, fields } from "../../protocol/validate.ts";

export const BID_PROTOCOL = "/peerstack/auction/bid/1";
export const AWARD_PROTOCOL = "/peerstack/auction/award/1";
export const RELEASE_PROTOCOL = "/peerstack/auction/release/1";
/** Several operations to one host in one message (node/auction/peer-batcher.ts); answers in order. */
export const BATCH_PROTOCOL = "/peerstack/auction/batch/1";

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

export type OpName = "bid" | "award" | "release";

/** One operation of a batch: `body` is a BidAsk, AwardAsk or ReleaseAsk as sent on its own protocol. */
export type BatchOp = { op: OpName; body: unknown };

/** An operation's answer: its body as its own protocol answers, or why it failed (malformed, stopped). */
export type BatchAnswer = { ok: true; body: unknown } | { ok: false; error: string };

const OPS: readonly OpName[] = ["bid", "award", "release"];
const MAX_OPS = 256;

export function readBatchAsk(body: unknown): BatchOp[] {
  const list = fields(body, "body").field("ops", (v, path) => {
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_OPS) throw new DecodeError(path, `must be a list of 1..${MAX_OPS} operations`);
    return v as unknown[];
  });
  return list.map((x, i) => {
    const f = fields(x, `body.ops[${i}]`);
    const op = f.string("op", { max: 16 }) as OpName;
    if (!OPS.includes(op)) throw new DecodeError(`body.ops[${i}].op`, `unknown operation "${op}"`);
    return { op, body: (x as { body?: unknown }).body };
  });
}

export function readBatchAnswer(body: unknown, expected: number): BatchAnswer[] {
  const list = fields(body, "body").field("answers", (v, path) => {
    if (!Array.isArray(v) || v.length !== expected) throw new DecodeError(path, `must be a list of ${expected} answers`);
    return v as unknown[];
  });
  return list.map((x, i) => {
    const f = fields(x, `body.answers[${i}]`);
    return f.bool("ok") ? { ok: true, body: (x as { body?: unknown }).body } : { ok: false, error: f.string("error", { max: 1024 }) };
  });
}
