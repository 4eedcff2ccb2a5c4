// One simulated node: the real CrdtStore (over MemoryKv, which survives crashes like a disk) and the
// real catalog replicator from node/, plus the placement services (ledger, adverts, bidder, requester,
// quota escrow). crash() kills its timers and handlers; restart() starts fresh components on the same
// disk, claims and quota rights.
import type { Random } from "../protocol/random.ts";
import { openCrdtStore, type CrdtStore } from "../node/store/crdt-store.ts";
import { MemoryKv } from "../node/store/memory-kv.ts";
import { replicator, type Replicator } from "../node/mesh/replicator.ts";
import type { SimNode } from "./net/network.ts";
import type { SimMesh, SimTransport } from "./net/sim-transport.ts";
import { Bidder, type BidderHooks } from "./placement/bidder.ts";
import { CapacityAdverts } from "./placement/capacity.ts";
import { Ledger } from "./placement/ledger.ts";
import { QuotaEscrow } from "./placement/quota.ts";
import { Requester } from "./placement/requester.ts";
import type { Resources } from "./placement/policy.ts";
import type { Scenario } from "./scenario.ts";

export type LedgerFactory = (init: { node: string; az: string; total: Resources; ratios: Resources }, clock: SimNode["clock"]) => Ledger;

export interface HostInit {
  scenario: Scenario;
  shape: Resources;
  ratios: Resources;
  random: Random;
  hooks: BidderHooks;
  ledgerFactory?: LedgerFactory;
}

export class SimHost {
  readonly node: SimNode;
  readonly transport: SimTransport;
  readonly ledger: Ledger;
  readonly quota: QuotaEscrow;
  adverts!: CapacityAdverts;
  requester!: Requester;
  store: CrdtStore | undefined;
  replicator: Replicator | undefined;
  private kv: MemoryKv | undefined;
  private readonly init: HostInit;
  private readonly random: Random;

  constructor(node: SimNode, mesh: SimMesh, init: HostInit) {
    this.node = node;
    this.init = init;
    this.random = init.random;
    this.transport = mesh.join(node);
    const make = init.ledgerFactory ?? ((i, clock) => new Ledger(i, clock));
    this.ledger = make({ node: node.id, az: node.az, total: init.shape, ratios: init.ratios }, node.clock);
    this.quota = new QuotaEscrow({ timeoutMs: init.scenario.placement.bidTimeoutMs * 2 }, { transport: this.transport, random: this.random.fork("quota") });
    if (init.scenario.catalog.replicate) this.kv = new MemoryKv();
  }

  async start(): Promise<void> {
    const s = this.init.scenario;
    const clock = this.node.clock;
    const random = this.random.fork(`run-${clock.alive}`);
    const transport = this.transport;
    if (this.kv) {
      this.store = await openCrdtStore({ node: this.node.id }, { clock, kv: this.kv });
      this.replicator = replicator({ antiEntropyMs: s.catalog.antiEntropyMs, peerWatchMs: s.catalog.peerWatchMs, requestTimeoutMs: 5000 })({ clock, random: random.fork("replicator"), transport, store: this.store });
      this.replicator.start();
    }
    this.adverts = new CapacityAdverts({ refreshMs: s.placement.advertRefreshMs, coalesceMs: s.placement.advertCoalesceMs }, { clock, random: random.fork("adverts"), transport, ledger: this.ledger });
    const bidder = new Bidder({ holdTtlMs: s.placement.holdTtlMs, weigher: s.placement.weigher, hooks: this.init.hooks }, { transport, ledger: this.ledger, adverts: this.adverts });
    this.requester = new Requester(
      { k: s.placement.k, maxAttempts: s.placement.maxAttempts, bidTimeoutMs: s.placement.bidTimeoutMs, weigher: s.placement.weigher },
      { clock, random: random.fork("requester"), transport, adverts: this.adverts, quota: this.quota },
    );
    this.quota.start();
    bidder.start();
    this.adverts.start();
  }

  crash(): void {
    this.node.up = false;
    this.node.clock.kill();
    this.transport.reset();
    this.replicator?.stop();
    this.adverts.stop();
    this.ledger.dropHolds();
    this.store = undefined;
    this.replicator = undefined;
    if (this.kv) this.kv = this.kv.reopen();
  }

  async restart(): Promise<void> {
    this.node.up = true;
    await this.start();
  }
}
