// Authorship of remote state, one check for every path that applies it. A register's stamp names the
// node that wrote it. Gossip is signed end to end by its publisher (StrictSign) and write-ack pushes
// come over an authenticated stream (noise), so on those first-hand paths every stamp must be the
// sender's. Anti-entropy is a relay: a peer legitimately hands over other nodes' registers, which
// carry no signature of their author. There a register that would change our state is taken from a
// third party only when its author cannot hand it over itself: never when the author is this process
// (it holds everything it wrote since it started: the register is forged) and not while the author is
// connected (deferred: the author's own anti-entropy brings it first-hand). Our stamps from before this
// start are relayed back like a third party's: a power cut may have lost them here. A dead or partitioned author's registers still
// heal through relays; docs/architecture.md says what that leaves open.
import { compareHlc, type HlcTimestamp } from "../../protocol/hlc.ts";
import type { RecordDelta, RecordState } from "../../protocol/crdt/lww-map.ts";

export type ApplyPath = "gossip" | "push" | "anti-entropy";
export const APPLY_PATHS: readonly ApplyPath[] = ["gossip", "push", "anti-entropy"];

export interface AuthorshipContext {
  self: string;
  /** The first stamp this process made: own stamps from then on are all held in memory. */
  selfSince: HlcTimestamp;
  /** Peers connected now: authors that can deliver their own registers. */
  connected: ReadonlySet<string>;
  stateOf(kind: string, id: string): RecordState | undefined;
}

export interface AuthorshipVerdict {
  /** What may be applied (for anti-entropy, states with the refused registers taken out). */
  accepted: RecordDelta[];
  /** Deltas (first-hand paths) or registers (anti-entropy) refused as forged. */
  forged: number;
  /** Anti-entropy registers of a connected author, left for it to deliver. */
  deferred: number;
}

/** Per-path counts of refused remote state, read by /metrics. */
export class AuthorshipCounters {
  readonly forged: Record<ApplyPath, number> = { gossip: 0, push: 0, "anti-entropy": 0 };
  relayDeferred = 0;

  count(path: ApplyPath, v: AuthorshipVerdict): void {
    this.forged[path] += v.forged;
    this.relayDeferred += v.deferred;
  }

  total(): number {
    return this.forged.gossip + this.forged.push + this.forged["anti-entropy"];
  }
}

function wellFormed(delta: unknown): delta is RecordDelta {
  const d = delta as RecordDelta;
  if (d == null || typeof d !== "object" || typeof d.kind !== "string" || typeof d.id !== "string") return false;
  if (typeof d.fields !== "object" || d.fields === null) return false;
  for (const name of Object.keys(d.fields)) {
    const f = d.fields[name];
    if (f == null || typeof f !== "object" || f.t == null || typeof f.t.node !== "string") return false;
  }
  return d.deleted === undefined || (typeof d.deleted === "object" && d.deleted !== null && typeof d.deleted.node === "string");
}

/** True if every stamp in `delta` is `sender`'s (what a node's own writes carry). */
export function stampedBy(delta: RecordDelta, sender: string): boolean {
  if (!wellFormed(delta)) return false;
  if (delta.deleted && delta.deleted.node !== sender) return false;
  for (const name of Object.keys(delta.fields)) if (delta.fields[name].t.node !== sender) return false;
  return true;
}

/** Checks deltas `sender` handed over on `path`. First-hand paths refuse the whole batch if one is forged. */
export function checkAuthorship(deltas: readonly unknown[], sender: string, path: ApplyPath, ctx?: AuthorshipContext): AuthorshipVerdict {
  if (path !== "anti-entropy") {
    const forged = deltas.filter((d) => !stampedBy(d as RecordDelta, sender)).length;
    return { accepted: forged > 0 ? [] : (deltas as RecordDelta[]), forged, deferred: 0 };
  }
  if (!ctx) throw new TypeError("anti-entropy authorship needs the receiver's context");
  const out: AuthorshipVerdict = { accepted: [], forged: 0, deferred: 0 };
  for (const state of deltas) {
    if (!wellFormed(state)) {
      out.forged++;
      continue;
    }
    const kept = relayable(state, sender, ctx, out);
    if (kept) out.accepted.push(kept);
  }
  return out;
}

// The state without the registers a relay may not bring; undefined if nothing is left.
function relayable(state: RecordState, sender: string, ctx: AuthorshipContext, out: AuthorshipVerdict): RecordState | undefined {
  let ours: RecordState | undefined | null = null;
  const held = (): RecordState | undefined => (ours === null ? (ours = ctx.stateOf(state.kind, state.id)) : ours);
  // A register that changes nothing here (we hold it or newer, or our tombstone hides it) is harmless.
  const refuse = (t: HlcTimestamp, current: HlcTimestamp | undefined): boolean => {
    if (t.node === sender) return false;
    const self = t.node === ctx.self && compareHlc(t, ctx.selfSince) >= 0;
    if (!self && !ctx.connected.has(t.node)) return false;
    const have = held();
    if (current && compareHlc(t, current) <= 0) return false;
    if (have?.deleted && compareHlc(t, have.deleted) <= 0) return false;
    if (self) out.forged++;
    else out.deferred++;
    return true;
  };
  let kept: RecordState | undefined;
  const strip = () => (kept ??= { kind: state.kind, id: state.id, fields: { ...state.fields }, ...(state.deleted ? { deleted: state.deleted } : {}) });
  if (state.deleted && refuse(state.deleted, undefined)) delete strip().deleted;
  for (const name of Object.keys(state.fields)) {
    const t = state.fields[name].t;
    if (refuse(t, held()?.fields[name]?.t)) delete strip().fields[name];
  }
  if (!kept) return state;
  return Object.keys(kept.fields).length > 0 || kept.deleted ? kept : undefined;
}
