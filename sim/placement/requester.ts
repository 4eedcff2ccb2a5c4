// The front node's side of the auction: take quota, filter and rank hosts from the capacity view, ask
// the top k (plus one random extra, to escape a stale view) for bids, award the best, release the rest.
// No bid: widen to the next candidates; after maxAttempts the server is refused ("No valid host").
import type { Random } from "../../protocol/random.ts";
import type { Clock } from "../../protocol/clock.ts";
import type { Transport } from "../../node/mesh/transport.ts";
import type { AwardAsk, BidAnswer, BidAsk } from "./bidder.ts";
import type { CapacityAdverts } from "./capacity.ts";
import { rank, type PlacementRequest, type Weigher } from "./policy.ts";
import type { QuotaEscrow } from "./quota.ts";
import { AWARD_PROTOCOL, BID_PROTOCOL, pack, RELEASE_PROTOCOL, unpack } from "./wire.ts";

export interface RequesterInit {
  k: number;
  maxAttempts: number;
  bidTimeoutMs: number;
  weigher: Weigher;
}

export type PlacementOutcome =
  | { ok: true; host: string; attempts: number; latencyMs: number }
  | { ok: false; reason: "quota" | "no-valid-host"; attempts: number; latencyMs: number };

export class Requester {
  private readonly init: RequesterInit;
  private readonly c: { clock: Clock; random: Random; transport: Transport; adverts: CapacityAdverts; quota: QuotaEscrow };
  /** Hosts of server groups, as this front node placed them (anti-affinity is re-checked by bidders). */
  private readonly groupHosts = new Map<string, Set<string>>();

  constructor(init: RequesterInit, c: { clock: Clock; random: Random; transport: Transport; adverts: CapacityAdverts; quota: QuotaEscrow }) {
    this.init = init;
    this.c = c;
  }

  async place(req: PlacementRequest): Promise<PlacementOutcome> {
    const started = this.c.clock.now();
    const need = { instances: 1, cores: req.flavor.vcpu };
    const sameAz = () => [...this.c.adverts.view.values()].filter((a) => a.az === req.az && a.node !== this.c.transport.self).map((a) => a.node);
    if (!(await this.c.quota.take(req.project, need, sameAz))) return { ok: false, reason: "quota", attempts: 0, latencyMs: this.c.clock.now() - started };
    const tried = new Set<string>();
    for (let attempt = 1; attempt <= this.init.maxAttempts; attempt++) {
      const ranked = rank(this.c.adverts.view.values(), req, (g) => this.groupHosts.get(g), this.init.weigher).filter((h) => !tried.has(h.node));
      if (ranked.length === 0) break;
      const asked = ranked.slice(0, this.init.k).map((h) => h.node);
      const rest = ranked.slice(this.init.k);
      if (rest.length > 0) asked.push(rest[this.c.random.int(rest.length)].node);
      for (const n of asked) tried.add(n);
      const host = await this.auction(req, attempt, asked);
      if (host) {
        if (req.group) {
          let set = this.groupHosts.get(req.group.id);
          if (!set) this.groupHosts.set(req.group.id, (set = new Set()));
          set.add(host);
        }
        return { ok: true, host, attempts: attempt, latencyMs: this.c.clock.now() - started };
      }
    }
    this.c.quota.give(req.project, need);
    return { ok: false, reason: "no-valid-host", attempts: this.init.maxAttempts, latencyMs: this.c.clock.now() - started };
  }

  /** Frees a placed server on its host and returns its quota here. False if the host did not answer. */
  async remove(req: PlacementRequest, host: string): Promise<boolean> {
    try {
      await this.c.transport.request(host, RELEASE_PROTOCOL, pack({ server: req.server, attempt: -1, free: true }), { timeoutMs: this.init.bidTimeoutMs * 4 });
    } catch {
      return false;
    }
    this.groupHosts.get(req.group?.id ?? "")?.delete(host);
    this.c.quota.give(req.project, { instances: 1, cores: req.flavor.vcpu });
    return true;
  }

  private async cancelAward(host: string, server: string, attempt: number): Promise<void> {
    for (let i = 0; i < 120; i++) {
      try {
        await this.c.transport.request(host, RELEASE_PROTOCOL, pack({ server, attempt, free: true }), { timeoutMs: this.init.bidTimeoutMs * 4 });
        return;
      } catch {
        await this.c.clock.sleep(5000);
      }
    }
  }

  private async auction(req: PlacementRequest, attempt: number, asked: string[]): Promise<string | undefined> {
    const { transport } = this.c;
    const ask = pack({ req, attempt } satisfies BidAsk);
    const answers = await Promise.all(
      asked.map((node) =>
        transport.request(node, BID_PROTOCOL, ask, { timeoutMs: this.init.bidTimeoutMs }).then(
          (data) => ({ node, answer: unpack<BidAnswer>(data) }),
          () => ({ node, answer: undefined }),
        ),
      ),
    );
    let best: { node: string; score: number } | undefined;
    for (const { node, answer } of answers) {
      if (!answer) continue;
      this.c.adverts.learn(answer.cap);
      if (answer.ok && (!best || answer.score > best.score || (answer.score === best.score && node < best.node))) best = { node, score: answer.score };
    }
    let winner: string | undefined;
    if (best) {
      try {
        const res = unpack<{ ok: boolean }>(await transport.request(best.node, AWARD_PROTOCOL, pack({ server: req.server, attempt } satisfies AwardAsk), { timeoutMs: this.init.bidTimeoutMs }));
        if (res.ok) winner = best.node;
      } catch {
        // Ambiguous: the award may have landed. Fence it off (the host frees a claim of this attempt)
        // and move on; until the host hears the cancel the server may briefly hold two claims.
        void this.cancelAward(best.node, req.server, attempt);
      }
    }
    const release = pack({ server: req.server, attempt } satisfies AwardAsk);
    for (const { node, answer } of answers) {
      if (answer?.ok && node !== winner) void transport.request(node, RELEASE_PROTOCOL, release, { timeoutMs: this.init.bidTimeoutMs }).catch(() => {});
    }
    return winner;
  }
}
