// Quota escrow over protocol/crdt/bounded-counter (stand-in until node/quota/ lands): a node spends only rights it holds; when short it
// asks a peer of the project's home AZ for a transfer. Rights are never minted here, so the sum of
// usage across partitions never exceeds the limit.
// The counters name nodes by their slot in the site ("slot3"), not by node id: a project's counter
// lives only in its home AZ, so slots are unique where it matters, and the process sees ~10 distinct
// vector keys instead of 10,000. Vectors are plain objects keyed by node (protocol/crdt/vector.ts);
// with 10,000 distinct keys V8's transition tree for `{}` degenerates and every object built from `{}`
// afterwards (msgpackr's decoded maps included) got ~5x slower (unpack 27 µs vs 5 µs per message).
import * as bc from "../protocol/crdt/bounded-counter.ts";
import type { Random } from "../protocol/random.ts";
import type { Transport } from "../node/mesh/transport.ts";
import { decode, encode } from "../node/mesh/wire.ts";

export const QUOTA_PROTOCOL = "/peerstack/quota/transfer/1";

export type QuotaResource = "instances" | "cores";
export type Need = Record<QuotaResource, number>;

interface TransferAsk {
  project: string;
  resource: QuotaResource;
  n: number;
}

export interface StandInComponents {
  transport: Transport;
  random: Random;
  /** The counter's name for a node of this site (default: its node id). */
  counterId?: (node: string) => string;
}

export class QuotaEscrow {
  private readonly c: { transport: Transport; random: Random };
  private readonly idOf: (node: string) => string;
  private readonly me: string;
  private readonly states = new Map<string, bc.BoundedCounter>();
  private readonly timeoutMs: number;
  transfers = 0;

  constructor(init: { timeoutMs: number }, c: StandInComponents) {
    this.c = c;
    this.idOf = c.counterId ?? ((node) => node);
    this.me = this.idOf(c.transport.self);
    this.timeoutMs = init.timeoutMs;
  }

  start(): void {
    this.c.transport.handle(QUOTA_PROTOCOL, async (from, data) => {
      const ask = decode<TransferAsk>(data, ["quota.transfer"]).body;
      const key = `${ask.project}/${ask.resource}`;
      const s = this.state(key);
      const spare = bc.transferable(s, this.me);
      // Give half of the spare (at least what was asked, if there is that much) so the asker need not come back at once.
      const n = Math.min(spare, Math.max(ask.n, Math.floor(spare / 2)));
      if (n <= 0) return encode("quota.transfer", this.c.transport.self, {});
      const step = bc.transfer(s, this.me, this.idOf(from), n);
      this.states.set(key, step.state);
      return encode("quota.transfer", this.c.transport.self, { state: step.state });
    });
  }

  /** This node's initial share of a project's limit (its own grant). */
  grant(project: string, resource: QuotaResource, n: number): void {
    if (n <= 0) return;
    const key = `${project}/${resource}`;
    this.states.set(key, bc.grant(this.state(key), this.me, n).state);
  }

  /** Spends `need` from local rights, fetching transfers from `peers` when short; false if none could be had. */
  async take(project: string, need: Need, peers: () => string[]): Promise<boolean> {
    const resources = Object.keys(need) as QuotaResource[];
    for (const r of resources) {
      if (!(await this.ensure(project, r, need[r], peers))) return false;
    }
    // All present now (no await between the checks and the spends, so nothing changed them).
    for (const r of resources) {
      const key = `${project}/${r}`;
      if (bc.available(this.state(key), this.me) < need[r]) return false;
    }
    for (const r of resources) {
      const key = `${project}/${r}`;
      this.states.set(key, bc.consume(this.state(key), this.me, need[r]).state);
    }
    return true;
  }

  /** Gives rights back to this node (a server was deleted, or its placement failed). */
  give(project: string, need: Need): void {
    for (const r of Object.keys(need) as QuotaResource[]) {
      const key = `${project}/${r}`;
      this.states.set(key, bc.release(this.state(key), this.me, need[r]).state);
    }
  }

  private async ensure(project: string, r: QuotaResource, n: number, peers: () => string[]): Promise<boolean> {
    const key = `${project}/${r}`;
    const me = this.me;
    for (let tries = 0; tries < 4 && bc.available(this.state(key), me) < n; tries++) {
      const candidates = peers();
      if (candidates.length === 0) return false;
      const peer = candidates[this.c.random.int(candidates.length)];
      try {
        const ask: TransferAsk = { project, resource: r, n: n - bc.available(this.state(key), me) };
        const answer = decode<{ state?: bc.BoundedCounter }>(await this.c.transport.request(peer, QUOTA_PROTOCOL, encode("quota.transfer", this.c.transport.self, ask), { timeoutMs: this.timeoutMs }), ["quota.transfer"]).body;
        this.transfers++;
        if (answer.state) this.states.set(key, bc.merge(this.state(key), answer.state));
      } catch {
        // Try another peer.
      }
    }
    return bc.available(this.state(key), me) >= n;
  }

  private state(key: string): bc.BoundedCounter {
    return this.states.get(key) ?? bc.empty();
  }
}
