// Catalog replication: local deltas go out on the gossip topic (coalesced per tick); gossiped deltas are
// checked for authorship (verify.ts, the same check on every path) and merged. Anti-entropy heals whatever gossip lost: digest exchange
// with one peer, then the differing buckets are exchanged both ways in batches, one batch in flight
// (backpressure: the next batch is asked for only after the last one is durable). Rounds run
// periodically with a random peer and at once with every newly connected peer.
import type { Clock, Cancel } from "../../protocol/clock.ts";
import type { Random } from "../../protocol/random.ts";
import type { RecordDelta, RecordState } from "../../protocol/crdt/lww-map.ts";
import type { CrdtStore } from "../store/crdt-store.ts";
import { diffDigests, type StoreDigest } from "../store/digest.ts";
import { silentLog, type MeshLog } from "./log.ts";
import type { Transport } from "./transport.ts";
import { AuthorshipCounters, checkAuthorship, type ApplyPath, type AuthorshipContext } from "./verify.ts";
import type { HlcTimestamp } from "../../protocol/hlc.ts";
import { decode, encode, WireVersionError } from "./wire.ts";

export const CATALOG_TOPIC = "/peerstack/catalog/1";
export const AE_PROTOCOL = "/peerstack/anti-entropy/1";

export interface ReplicatorInit {
  /** Mean period of anti-entropy rounds, ms (jittered ±50%). */
  antiEntropyMs?: number;
  /** How often the connected-peer set is checked for newcomers, ms. */
  peerWatchMs?: number;
  /** Max record states per anti-entropy batch (each direction). */
  batchStates?: number;
  requestTimeoutMs?: number;
  /** Max deltas per gossip message. */
  gossipBatch?: number;
}

export interface ReplicatorComponents {
  clock: Clock;
  random: Random;
  transport: Transport;
  store: Pick<CrdtStore, "applyRemote" | "onChange" | "digest" | "statesIn" | "hlc" | "stateOf">;
  log?: MeshLog;
}

export interface ReplicatorStats {
  gossipIn: number;
  gossipOut: number;
  deltasApplied: number;
  /** Refused as forged, all paths of this component (gossip, anti-entropy). */
  forgedDropped: number;
  forgedByPath: Record<ApplyPath, number>;
  /** Anti-entropy registers of a connected author, left for the author to deliver. */
  relayDeferred: number;
  versionRefused: number;
  malformedDropped: number;
  aeRounds: number;
  aeFailed: number;
  aeBytes: number;
  aeStatesIn: number;
  aeStatesOut: number;
  /** Ms between a remote write's stamp and its arrival here, last seen. */
  lastLagMs: number;
}

export interface Replicator {
  start(): void;
  stop(): void;
  /** Runs one anti-entropy round with `peer` now; resolves to the number of states received. */
  antiEntropy(peer: string): Promise<number>;
  stats(): ReplicatorStats;
  /** Observes the lag of every applied remote delta (ms), e.g. for a histogram. */
  onLag(fn: (lagMs: number) => void): void;
}

interface DeltasBody {
  deltas: RecordDelta[];
}
interface DigestBody {
  digest: StoreDigest;
}
interface ExchangeBody {
  buckets: Array<{ kind: string; bucket: number }>;
  states: RecordState[];
}

export function replicator(init: ReplicatorInit = {}): (c: ReplicatorComponents) => Replicator {
  return (c) => new CatalogReplicator(init, c);
}

class CatalogReplicator implements Replicator {
  private readonly c: ReplicatorComponents;
  private readonly log: MeshLog;
  private readonly aeMs: number;
  private readonly watchMs: number;
  private readonly batchStates: number;
  private readonly timeoutMs: number;
  private readonly gossipBatch: number;
  private readonly s: ReplicatorStats = {
    gossipIn: 0, gossipOut: 0, deltasApplied: 0, forgedDropped: 0, forgedByPath: { gossip: 0, push: 0, "anti-entropy": 0 }, relayDeferred: 0,
    versionRefused: 0, malformedDropped: 0, aeRounds: 0, aeFailed: 0, aeBytes: 0, aeStatesIn: 0, aeStatesOut: 0, lastLagMs: 0,
  };
  private readonly authorship = new AuthorshipCounters();
  private selfSince?: HlcTimestamp;
  private readonly lagFns: Array<(lag: number) => void> = [];
  private outbox: RecordDelta[] = [];
  private flushArmed = false;
  private knownPeers = new Set<string>();
  private readonly roundsWith = new Set<string>();
  private cancels: Cancel[] = [];
  private unsubs: Array<() => void> = [];
  private running = false;

  constructor(init: ReplicatorInit, c: ReplicatorComponents) {
    this.c = c;
    this.log = c.log ?? silentLog;
    this.aeMs = init.antiEntropyMs ?? 3000;
    this.watchMs = init.peerWatchMs ?? 250;
    this.batchStates = init.batchStates ?? 2000;
    this.timeoutMs = init.requestTimeoutMs ?? 15_000;
    this.gossipBatch = init.gossipBatch ?? 500;
  }

  start(): void {
    this.running = true;
    this.selfSince ??= this.c.store.hlc.now();
    const { transport, store } = this.c;
    this.unsubs.push(transport.subscribe(CATALOG_TOPIC, (m) => void this.onGossip(m.from, m.data)));
    this.unsubs.push(
      store.onChange((ch) => {
        if (!ch.local) return;
        this.outbox.push(ch.delta);
        this.armFlush();
      }),
    );
    transport.handle(AE_PROTOCOL, (from, data) => this.serveAntiEntropy(from, data));
    this.armRound();
    this.armWatch();
  }

  stop(): void {
    this.running = false;
    for (const cancel of this.cancels) cancel();
    for (const u of this.unsubs) u();
    this.cancels = [];
    this.unsubs = [];
  }

  stats(): ReplicatorStats {
    const a = this.authorship;
    return { ...this.s, forgedDropped: a.total(), forgedByPath: { ...a.forged }, relayDeferred: a.relayDeferred };
  }

  onLag(fn: (lagMs: number) => void): void {
    this.lagFns.push(fn);
  }

  // --- gossip -------------------------------------------------------------------------------------

  private armFlush(): void {
    if (this.flushArmed) return;
    this.flushArmed = true;
    this.cancels.push(this.c.clock.schedule(0, () => void this.flush()));
  }

  private async flush(): Promise<void> {
    this.flushArmed = false;
    while (this.outbox.length > 0) {
      const deltas = this.outbox.splice(0, this.gossipBatch);
      this.s.gossipOut++;
      try {
        await this.c.transport.publish(CATALOG_TOPIC, encode<DeltasBody>("catalog.deltas", this.c.transport.self, { deltas }, this.c.store.hlc.now()));
      } catch (err) {
        // Anti-entropy will carry these deltas; gossip is the fast path only.
        this.log.debug({ err: String(err), deltas: deltas.length }, "gossip publish failed");
      }
    }
  }

  private async onGossip(from: string, data: Uint8Array): Promise<void> {
    this.s.gossipIn++;
    let deltas: RecordDelta[];
    try {
      const env = decode<DeltasBody>(data, ["catalog.deltas"]);
      if (env.from !== from || !Array.isArray(env.body?.deltas)) throw new Error("envelope sender is not the signer");
      deltas = env.body.deltas;
    } catch (err) {
      if (err instanceof WireVersionError) {
        this.s.versionRefused++;
        this.log.warn({ from, err: err.message }, "refused a catalog message of an unsupported version");
      } else {
        this.s.malformedDropped++;
        this.log.warn({ from, err: String(err) }, "dropped a malformed catalog message");
      }
      return;
    }
    await this.applyChecked(deltas, from, "gossip");
  }

  /** The one way remote state gets in: authorship checked and counted per path, then merged. */
  private async applyChecked(deltas: unknown[], from: string, path: ApplyPath): Promise<number> {
    const verdict = checkAuthorship(deltas, from, path, path === "anti-entropy" ? this.authorshipContext() : undefined);
    this.authorship.count(path, verdict);
    if (verdict.forged > 0) this.log.warn({ from, path, forged: verdict.forged }, "dropped catalog state whose stamps its sender cannot have");
    return verdict.accepted.length > 0 ? this.applyAndMeasure(verdict.accepted) : 0;
  }

  private authorshipContext(): AuthorshipContext {
    const { transport, store } = this.c;
    return { self: transport.self, selfSince: (this.selfSince ??= store.hlc.now()), connected: new Set(transport.peers()), stateOf: (kind, id) => store.stateOf(kind, id) };
  }

  private async applyAndMeasure(deltas: RecordDelta[]): Promise<number> {
    const now = this.c.clock.now();
    let changed = 0;
    try {
      changed = await this.c.store.applyRemote(deltas);
    } catch (err) {
      this.log.warn({ err: String(err) }, "applying remote deltas failed");
      return 0;
    }
    this.s.deltasApplied += changed;
    if (changed > 0) {
      let newest = 0;
      for (const d of deltas) for (const f of Object.values(d.fields ?? {})) newest = Math.max(newest, f.t.wallMs);
      if (newest > 0) {
        this.s.lastLagMs = Math.max(0, now - newest);
        for (const fn of this.lagFns) fn(this.s.lastLagMs);
      }
    }
    return changed;
  }

  // --- anti-entropy -------------------------------------------------------------------------------

  private armRound(): void {
    if (!this.running) return;
    const delay = this.aeMs * (0.5 + this.c.random.next());
    this.cancels.push(
      this.c.clock.schedule(delay, () => {
        const peers = this.c.transport.peers();
        if (peers.length > 0) void this.antiEntropy(peers[this.c.random.int(peers.length)]).catch(() => {});
        this.armRound();
      }),
    );
  }

  private armWatch(): void {
    if (!this.running) return;
    this.cancels.push(
      this.c.clock.schedule(this.watchMs, () => {
        const now = new Set(this.c.transport.peers());
        for (const p of now) if (!this.knownPeers.has(p)) void this.antiEntropy(p).catch(() => {});
        this.knownPeers = now;
        this.armWatch();
      }),
    );
  }

  async antiEntropy(peer: string): Promise<number> {
    if (this.roundsWith.has(peer)) return 0;
    this.roundsWith.add(peer);
    const { transport, store } = this.c;
    let received = 0;
    try {
      const ask = encode<DigestBody>("ae.digest", transport.self, { digest: store.digest() });
      const answer = await transport.request(peer, AE_PROTOCOL, ask, { timeoutMs: this.timeoutMs });
      this.s.aeBytes += ask.byteLength + answer.byteLength;
      const theirs = decode<DigestBody>(answer, ["ae.digest"]).body.digest;
      const mine = store.digest();
      if (theirs.buckets !== mine.buckets) {
        this.log.warn({ peer, theirs: theirs.buckets, mine: mine.buckets }, "peer uses another digest bucket count; no anti-entropy with it");
        return 0;
      }
      const diff = diffDigests(mine, theirs);
      for (const batch of this.batches(diff, mine, theirs)) {
        const states = batch.flatMap((b) => store.statesIn(b.kind, b.bucket));
        this.s.aeStatesOut += states.length;
        const req = encode<ExchangeBody>("ae.exchange", transport.self, { buckets: batch, states });
        const res = await transport.request(peer, AE_PROTOCOL, req, { timeoutMs: this.timeoutMs });
        this.s.aeBytes += req.byteLength + res.byteLength;
        const got = decode<ExchangeBody>(res, ["ae.exchange"]).body.states;
        this.s.aeStatesIn += got.length;
        received += got.length;
        if (got.length > 0) await this.applyChecked(got, peer, "anti-entropy");
      }
      this.s.aeRounds++;
      if (diff.length > 0) this.log.debug({ peer, buckets: diff.length, received }, "anti-entropy round");
      return received;
    } catch (err) {
      this.s.aeFailed++;
      this.log.debug({ peer, err: String(err) }, "anti-entropy round failed");
      throw err;
    } finally {
      this.roundsWith.delete(peer);
    }
  }

  // Groups differing buckets so that each exchange carries about batchStates states (by both digests' counts).
  private batches(diff: Array<{ kind: string; bucket: number }>, mine: StoreDigest, theirs: StoreDigest): Array<Array<{ kind: string; bucket: number }>> {
    const out: Array<Array<{ kind: string; bucket: number }>> = [];
    let cur: Array<{ kind: string; bucket: number }> = [];
    let size = 0;
    for (const d of diff) {
      const n = Math.max(mine.kinds[d.kind]?.count[d.bucket] ?? 0, theirs.kinds[d.kind]?.count[d.bucket] ?? 0);
      if (cur.length > 0 && size + n > this.batchStates) {
        out.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(d);
      size += n;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  private async serveAntiEntropy(from: string, data: Uint8Array): Promise<Uint8Array> {
    const { transport, store } = this.c;
    const env = decode<DigestBody | ExchangeBody>(data, ["ae.digest", "ae.exchange"]);
    if (env.type === "ae.digest") return encode<DigestBody>("ae.digest", transport.self, { digest: store.digest() });
    const body = env.body as ExchangeBody;
    // Answer with our states as they were before merging theirs: they already hold what they sent.
    const states = body.buckets.flatMap((b) => store.statesIn(b.kind, b.bucket));
    this.s.aeStatesOut += states.length;
    if (body.states.length > 0) {
      this.s.aeStatesIn += body.states.length;
      await this.applyChecked(body.states, from, "anti-entropy");
    }
    this.log.debug({ from, buckets: body.buckets.length }, "served anti-entropy exchange");
    return encode<ExchangeBody>("ae.exchange", transport.self, { buckets: body.buckets, states });
  }
}
