// The requester (front node): picks candidates from its capacity view (filters + weighers over a
// sample), asks the top k plus one random extra for bids, awards the best bid and releases the rest.
// No bid: widen to the next candidates, up to maxAttempts widening rounds; hosts that were only busy
// with others' holds, or silent, are asked again with a growing pause (holds lapse within their TTL,
// a loaded host answers late) for up to maxRetryRounds more; then NoValidHostError. Small meshes
// (N <= k+1) ask everyone at once.
import type { Clock } from "../../protocol/clock.ts";
import { DEFAULT_FILTERS, filterHosts, NoValidHostError, SPREAD, weighHosts, type Filter, type HostState, type RequestSpec, type WeigherMultipliers } from "../../protocol/placement/index.ts";
import type { Random } from "../../protocol/random.ts";
import type { CapacityView } from "../capacity/view.ts";
import type { Transport } from "../mesh/transport.ts";
import type { Bidder } from "./bidder.ts";
import { readAwardAnswer, readBidAnswer, type BidAnswer, type BidAsk } from "./messages.ts";
import { peerBatcher, type PeerBatcherInit } from "./peer-batcher.ts";

export interface RequesterInit {
  k?: number;
  /** Random extra candidates per round, to escape a stale view. */
  extra?: number;
  maxAttempts?: number;
  /** Extra rounds that only re-ask busy or silent hosts (backoff doubles each time, up to 32x). */
  maxRetryRounds?: number;
  bidTimeoutMs?: number;
  awardTimeoutMs?: number;
  holdTtlMs?: number;
  /** Pause before a retry round, times a random factor in [0.5, 1.5). */
  retryBackoffMs?: number;
  /** A release that gets no answer is retried this many times, this far apart (a lost award may have claimed). */
  releaseRetries?: number;
  releaseRetryMs?: number;
  /** After the first bid, wait at most this factor x its time (at least minWindowMs) for the others. */
  stragglerFactor?: number;
  minWindowMs?: number;
  /** Hosts considered per placement (a random sample of a large view). */
  sampleSize?: number;
  maxAdvertAgeMs?: number;
  multipliers?: WeigherMultipliers;
  filters?: readonly Filter[];
  /** How operations to one peer are batched (node/auction/peer-batcher.ts). */
  batching?: PeerBatcherInit;
}

export interface RequesterComponents {
  clock: Clock;
  random: Random;
  transport: Transport;
  view: CapacityView;
  /** This node's own bidder, called in process when this node is a candidate. */
  local?: Bidder;
}

export interface Placement {
  host: string;
  attempt: number;
  /** The winner's state with this server held (as its bid said). */
  state: HostState;
}

export interface RequesterStats {
  placements: number;
  failures: number;
  /** Direct messages sent and answered (request + response each count one; one batch = 2). */
  readonly messages: number;
}

export interface Requester {
  /** Places `spec`; attempts are numbered from `firstAttempt` (fencing across re-schedules). */
  place(spec: RequestSpec, opts?: { firstAttempt?: number }): Promise<Placement>;
  readonly stats: RequesterStats;
}

export function requester(init: RequesterInit = {}): (c: RequesterComponents) => Requester {
  const k = init.k ?? 3;
  const extra = init.extra ?? 1;
  const maxAttempts = init.maxAttempts ?? 3;
  const maxRetryRounds = init.maxRetryRounds ?? 6;
  const bidTimeoutMs = init.bidTimeoutMs ?? 500;
  const awardTimeoutMs = init.awardTimeoutMs ?? 500;
  const holdTtlMs = init.holdTtlMs ?? 5000;
  const retryBackoffMs = init.retryBackoffMs ?? 50;
  const releaseRetries = init.releaseRetries ?? 20;
  const releaseRetryMs = init.releaseRetryMs ?? 1000;
  const sampleSize = init.sampleSize ?? 64;
  const minWindowMs = init.minWindowMs ?? 5;
  const stragglerFactor = init.stragglerFactor ?? 2;
  const maxAge = init.maxAdvertAgeMs ?? 30_000;
  const multipliers = init.multipliers ?? SPREAD;
  const filters = init.filters ?? DEFAULT_FILTERS;

  return (c) => {
    const me = c.transport.self;
    // Remote operations go through one batcher: concurrent auctions share messages per peer.
    const batcher = peerBatcher(init.batching)({ clock: c.clock, transport: c.transport });
    const stats: RequesterStats = {
      placements: 0,
      failures: 0,
      get messages() {
        return 2 * batcher.stats.batches; // a batch is one request and one answer, whatever it carries
      },
    };

    async function bid(node: string, ask: BidAsk): Promise<BidAnswer | undefined> {
      try {
        if (node === me) return c.local?.bid(ask);
        return readBidAnswer(await batcher.send(node, "bid", ask, bidTimeoutMs));
      } catch {
        return undefined; // silence is no bid
      }
    }

    async function award(node: string, serverId: string, attempt: number): Promise<string> {
      try {
        if (node === me) return c.local?.award({ serverId, attempt }).outcome ?? "no-bidder";
        return readAwardAnswer(await batcher.send(node, "award", { serverId, attempt }, awardTimeoutMs)).outcome;
      } catch {
        return "unreachable";
      }
    }

    /**
     * Frees a loser's hold (lazily: it rides with the next operation to that peer), or a claim whose
     * award answer was lost (at once: until it lands that host counts a server that runs elsewhere or
     * nowhere); retried until acknowledged.
     */
    function release(node: string, serverId: string, attempt: number, mayHaveClaimed = false): void {
      if (node === me) {
        c.local?.release({ serverId, attempt });
        return;
      }
      const tryRelease = (left: number): void => {
        batcher.send(node, "release", { serverId, attempt }, awardTimeoutMs, { lazy: !mayHaveClaimed }).catch(() => {
          if (left > 0) c.clock.schedule(releaseRetryMs, () => tryRelease(left - 1));
        });
      };
      tryRelease(releaseRetries);
    }

    /**
     * Asks every host of the round and waits for all answers, or — once one other host has bid — for at most
     * `stragglerFactor` x the time that first bid took (at least `minWindowMs`) more: one slow host (a GC
     * pause, a busy loop) no longer sets every auction's pace. A straggler counts as silent this round;
     * a bid it sends later is released (its hold would otherwise sit until its TTL).
     */
    function bidWindow(round: string[], ask: BidAsk): Promise<Array<BidAnswer | undefined>> {
      const t0 = c.clock.now();
      const answers: Array<BidAnswer | undefined> = new Array(round.length).fill(undefined);
      return new Promise((resolve) => {
        let left = round.length;
        let closed = false;
        let cancel: (() => void) | undefined;
        const close = () => {
          if (closed) return;
          closed = true;
          cancel?.();
          resolve(answers.slice());
        };
        if (left === 0) return close();
        round.forEach((node, i) => {
          void bid(node, ask).then((a) => {
            if (closed) {
              if (a?.ok) release(node, ask.spec.serverId, ask.attempt); // a late bid: free its hold
              return;
            }
            answers[i] = a;
            if (--left === 0) return close();
            // The window opens at the first remote bid (this node's own answers at once and says nothing of the network).
            if (a?.ok && node !== me && !cancel) cancel = c.clock.schedule(Math.max(minWindowMs, stragglerFactor * (c.clock.now() - t0)), close);
          });
        });
      });
    }

    /** Candidates for a round: ranked by the view, minus those already asked, top k + `extra` random. */
    function candidates(spec: RequestSpec, asked: Set<string>): string[] {
      const pool = c.view.sample(sampleSize, maxAge, c.random);
      // Hosts a hint or an affinity group points at must be considered even if the sample missed them.
      for (const node of [...(spec.sameHost ?? []), ...(spec.group?.policy === "affinity" ? (spec.group.hosts ?? []) : [])]) {
        const e = c.view.get(node);
        if (e && !pool.some((h) => h.node === node)) pool.push(e.state);
      }
      const open = pool.filter((h) => !asked.has(h.node));
      if (c.view.size <= k + 1 && asked.size === 0) return open.map((h) => h.node); // small mesh: everyone
      const ranked = weighHosts(filterHosts(open, spec, filters), spec, multipliers).map((w) => w.host.node);
      const out = ranked.slice(0, k);
      const rest = ranked.length > k ? ranked.slice(k) : open.map((h) => h.node).filter((n) => !out.includes(n));
      for (let i = 0; i < extra && rest.length > 0; i++) out.push(rest.splice(c.random.int(rest.length), 1)[0]);
      return out;
    }

    async function place(spec: RequestSpec, opts: { firstAttempt?: number } = {}): Promise<Placement> {
      const first = opts.firstAttempt ?? 1;
      const asked = new Set<string>();
      let again: string[] = []; // busy with others' holds, or silent: asked again next round
      let widenings = 0;
      let retries = 0;
      for (let attempt = first; ; attempt++) {
        if (attempt > first) await c.clock.sleep(retryBackoffMs * 2 ** Math.min(retries, 5) * (0.5 + c.random.next()));
        const fresh = widenings < maxAttempts ? candidates(spec, asked) : [];
        if (fresh.length > 0) widenings++;
        else if (again.length > 0 && retries < maxRetryRounds) retries++;
        else break; // nobody new to ask and no retries left
        const round = [...new Set([...again, ...fresh])];
        for (const n of round) asked.add(n);
        const ask: BidAsk = { spec, attempt, holdTtlMs };
        const answers = await bidWindow(round, ask);
        const bids: HostState[] = [];
        again = [];
        answers.forEach((a, i) => {
          if (a?.ok) bids.push(a.state);
          else if (a ? a.busy : round[i] !== me) again.push(round[i]);
        });
        const ranked = weighHosts(bids, spec, multipliers);
        let winner: HostState | undefined;
        for (const { host } of ranked) {
          if (winner) {
            release(host.node, spec.serverId, attempt);
            continue;
          }
          const outcome = await award(host.node, spec.serverId, attempt);
          if (outcome === "claimed" || outcome === "already-claimed") winner = host;
          else release(host.node, spec.serverId, attempt, outcome === "unreachable"); // lost, lapsed or unreachable: make sure it is freed
        }
        if (winner) {
          c.view.noteAward(winner.node, winner);
          stats.placements++;
          return { host: winner.node, attempt, state: winner };
        }
      }
      stats.failures++;
      throw new NoValidHostError(spec.serverId, maxAttempts);
    }

    return { place, stats };
  };
}
