// One simulated node running the real node/ code: CrdtStore over MemoryKv (kept across crashes like a
// disk) with the catalog replicator; the capacity Ledger, CapacityView and advertiser; the auction's
// bidder and requester; the quota escrow (node/quota, or the sim's stand-in: sim/quota.ts).
// crash() kills the node's timers and handlers; restart() starts fresh components on the same disk,
// re-adopting its claims into a new ledger (holds lived in memory only). The stray-claim rule of the
// agent's reconciler runs on every server-record change when the catalog is replicated.
import type { Random } from "../protocol/random.ts";
import { PACK, SPREAD, type AllocationRatios, type Resources } from "../protocol/placement/index.ts";
import { openCrdtStore, type CrdtStore } from "../node/store/crdt-store.ts";
import { MemoryKv } from "../node/store/memory-kv.ts";
import { replicator, type Replicator } from "../node/mesh/replicator.ts";
import { Ledger, type HostDescription } from "../node/capacity/ledger.ts";
import { strayClaims } from "../node/capacity/stray-claims.ts";
import { CapacityView } from "../node/capacity/view.ts";
import { advertiser, type Advertiser } from "../node/capacity/adverts.ts";
import { bidder, type Bidder } from "../node/auction/bidder.ts";
import { requester, type Requester } from "../node/auction/requester.ts";
import type { SimNode } from "./net/network.ts";
import type { SimMesh, SimTransport } from "./net/sim-transport.ts";
import { nodeQuota, standInQuota, type SimQuota } from "./quota.ts";
import type { Scenario } from "./scenario.ts";

export type LedgerFactory = (d: HostDescription) => Ledger;

export interface HostInit {
  scenario: Scenario;
  shape: Resources;
  ratios: AllocationRatios;
  aggregates?: string[];
  traits?: string[];
  random: Random;
  /** Called when this host claims a server (checkers watch from outside). */
  onClaim: (host: SimHost, serverId: string) => void;
  /** Up, reachable nodes of this node's AZ (its site LAN): whom its quota escrow may ask for rights. */
  sitePeers: (host: SimHost) => string[];
  ledgerFactory?: LedgerFactory;
}

/** Capacity adverts go on one topic per AZ: a front node places inside its AZ, so views stay O(site). */
export function capacityTopic(az: string): string {
  return `peerstack/capacity/${az}/1`;
}

export class SimHost {
  readonly node: SimNode;
  readonly transport: SimTransport;
  quota!: SimQuota;
  ledger: Ledger;
  view!: CapacityView;
  adverts!: Advertiser;
  bidder!: Bidder;
  requester!: Requester;
  store: CrdtStore | undefined;
  replicator: Replicator | undefined;
  private kv: MemoryKv | undefined;
  private quotaKv: MemoryKv | undefined;
  /** Stray claims the reconciler's rule released (see start()). */
  strayReleased = 0;
  /** Called after every change of this host's ledger (a sharded run logs claimed RAM by it). */
  onLedgerChange: (() => void) | undefined;
  private readonly init: HostInit;
  private readonly mesh: SimMesh;

  constructor(node: SimNode, mesh: SimMesh, init: HostInit) {
    this.node = node;
    this.init = init;
    this.mesh = mesh;
    this.transport = mesh.join(node);
    this.ledger = this.newLedger();
    if (init.scenario.catalog.replicate) this.kv = new MemoryKv();
    // The escrow's counters need a disk only if the node can crash (they are durable before use).
    if (init.scenario.quota.escrow === "node" && init.scenario.faults.crashes.count > 0) this.quotaKv = new MemoryKv();
  }

  private newLedger(): Ledger {
    const d: HostDescription = { node: this.node.id, az: this.node.az, total: this.init.shape, ratios: this.init.ratios, aggregates: this.init.aggregates, traits: this.init.traits };
    return this.init.ledgerFactory ? this.init.ledgerFactory(d) : new Ledger(d);
  }

  async start(): Promise<void> {
    const s = this.init.scenario;
    const p = s.placement;
    const clock = this.node.clock;
    const random = this.init.random.fork(`run-${clock.alive}`);
    const transport = this.transport;
    if (this.kv) {
      this.store = await openCrdtStore({ node: this.node.id }, { clock, kv: this.kv });
      this.replicator = replicator({ antiEntropyMs: s.catalog.antiEntropyMs, peerWatchMs: s.catalog.peerWatchMs, requestTimeoutMs: 5000 })({ clock, random: random.fork("replicator"), transport, store: this.store });
      this.replicator.start();
      // The reconciler's stray-claim rule, as the agent applies it (node/capacity/stray-claims.ts): a
      // claim the server record contradicts — it names another host, a newer attempt, or is deleted —
      // is an award whose answer was lost and whose front node died before its retried release got
      // through; only this host can free it.
      const store = this.store;
      const stray = strayClaims({
        self: this.node.id,
        ledger: this.ledger,
        lookup: (id) => ({ record: store.get("server", id), tombstoned: store.stateOf("server", id)?.deleted !== undefined }),
        onRelease: () => this.strayReleased++,
      });
      store.onChange(({ delta }) => {
        if (delta.kind === "server") stray.check(delta.id);
      });
      stray.sweep();
    }
    this.ledger.onChange(() => this.onLedgerChange?.());
    this.view = new CapacityView(this.node.id, clock);
    this.adverts = advertiser({ intervalMs: p.advertRefreshMs, coalesceMs: p.advertCoalesceMs, topic: capacityTopic(this.node.az) })({ clock, random: random.fork("adverts"), transport, ledger: this.ledger, view: this.view });
    this.bidder = bidder({ maxHoldTtlMs: p.holdTtlMs * 4 })({ clock, ledger: this.ledger, transport });
    this.bidder.hooks.onClaim = (serverId) => this.init.onClaim(this, serverId);
    this.requester = requester({
      k: p.k,
      maxAttempts: p.maxAttempts,
      bidTimeoutMs: p.bidTimeoutMs,
      awardTimeoutMs: p.bidTimeoutMs,
      holdTtlMs: p.holdTtlMs,
      maxAdvertAgeMs: p.maxAdvertAgeMs,
      multipliers: p.weigher === "pack" ? PACK : SPREAD,
    })({ clock, random: random.fork("requester"), transport, view: this.view, local: this.bidder });
    const makeQuota = s.quota.escrow === "node" ? nodeQuota : standInQuota;
    const net = this.mesh.net;
    const counterId = (id: string) => `slot${net.nodes[net.indexOf(id) ?? -1]?.siteSlot ?? id}`;
    this.quota = makeQuota({ az: this.node.az, timeoutMs: p.bidTimeoutMs * 2, clock, random: random.fork("quota"), transport, sitePeers: () => this.init.sitePeers(this), kv: this.quotaKv, counterId });
    await this.quota.start();
    this.bidder.start();
    this.adverts.start();
  }

  crash(): void {
    this.node.up = false;
    this.node.clock.kill();
    this.transport.reset();
    this.replicator?.stop();
    this.adverts.stop();
    this.quota.stop();
    if (this.quotaKv) this.quotaKv = this.quotaKv.reopen();
    this.store = undefined;
    this.replicator = undefined;
    if (this.kv) this.kv = this.kv.reopen();
    // The restarted agent re-adopts its claims (servers it runs); holds are gone.
    const claims = this.ledger.claimsList();
    this.ledger = this.newLedger();
    for (const c of claims) this.ledger.adopt(c);
  }

  async restart(): Promise<void> {
    this.node.up = true;
    await this.start();
  }
}
