// Quota in the simulator: the real node/quota escrow by default (scenario `quota.escrow: "node"`), or the
// sim's older stand-in ("standin", kept for comparison figures). The real escrow gossips its deltas on
// one topic per AZ (the project's home AZ, where its front nodes are), so a take is decoded by the AZ's
// nodes, not the whole mesh; transfers are direct requests to the AZ's reachable nodes (a site's hosts
// are all connected on their LAN).
import { Hlc } from "../protocol/hlc.ts";
import type { Random } from "../protocol/random.ts";
import type { Clock } from "../protocol/clock.ts";
import type { Transport } from "../node/mesh/transport.ts";
import { quotaEscrow, type QuotaEscrow as NodeEscrow } from "../node/quota/escrow.ts";
import { QuotaExceededError } from "../node/quota/limits.ts";
import type { KvStore } from "../node/store/kv.ts";
import { QuotaEscrow as StandIn, type Need } from "./quota-escrow.ts";

export type { Need };

/** What the driver needs of a node's quota escrow. */
export interface SimQuota {
  start(): Promise<void>;
  stop(): void;
  /** Called on every node of the project's home AZ (`index` of `count`) when the run starts. */
  initProject(project: string, limits: Need, index: number, count: number): Promise<void>;
  /** Spends `need` or nothing; false when the quota cannot cover it. */
  take(project: string, need: Need): Promise<boolean>;
  give(project: string, need: Need): void;
  /** Transfers asked by this node (figures). */
  readonly transfers: number;
}

export function quotaTopic(az: string): string {
  return `peerstack/quota/${az}/1`;
}

/** `transport` with peers() = the reachable nodes of this node's AZ. */
function siteTransport(t: Transport, sitePeers: () => string[]): Transport {
  return {
    self: t.self,
    publish: (topic, data) => t.publish(topic, data),
    subscribe: (topic, fn) => t.subscribe(topic, fn),
    request: (peer, protocol, data, opts) => t.request(peer, protocol, data, opts),
    handle: (protocol, fn) => t.handle(protocol, fn),
    peers: sitePeers,
  };
}

export interface SimQuotaInit {
  az: string;
  timeoutMs: number;
  clock: Clock;
  random: Random;
  transport: Transport;
  sitePeers: () => string[];
  /** The escrow's durable counters (a "disk" kept across crashes); omitted when nothing crashes. */
  kv?: KvStore;
  /** The stand-in's name for a node of this site in its counters (see sim/quota-escrow.ts). */
  counterId?: (node: string) => string;
}

export function nodeQuota(init: SimQuotaInit): SimQuota {
  const transport = siteTransport(init.transport, init.sitePeers);
  const escrow: NodeEscrow = quotaEscrow({ timeoutMs: init.timeoutMs, topic: quotaTopic(init.az) })({
    clock: init.clock,
    random: init.random,
    transport,
    hlc: new Hlc({ node: transport.self, clock: init.clock }),
    kv: init.kv,
  });
  return {
    start: () => escrow.start(),
    stop: () => escrow.stop(),
    // As identity does it: the limits are minted on one node; the others pull rights by transfer.
    initProject: async (project, limits, index) => {
      if (index === 0) await escrow.initProject(project, limits);
    },
    async take(project, need) {
      try {
        await escrow.take(project, need);
        return true;
      } catch (err) {
        if (err instanceof QuotaExceededError) return false;
        throw err;
      }
    },
    give(project, need) {
      void escrow.release(project, need).catch(() => {});
    },
    get transfers() {
      return escrow.stats.transfersAsked;
    },
  };
}

/** The stand-in: every home-AZ node gets an even share of the limit up front. */
export function standInQuota(init: SimQuotaInit): SimQuota {
  const s = new StandIn({ timeoutMs: init.timeoutMs }, { transport: init.transport, random: init.random, counterId: init.counterId });
  return {
    start: async () => s.start(),
    stop: () => {},
    async initProject(project, limits, index, count) {
      const share = (limit: number) => Math.floor(limit / count) + (index < limit % count ? 1 : 0);
      s.grant(project, "instances", share(limits.instances));
      s.grant(project, "cores", share(limits.cores));
    },
    take: (project, need) => s.take(project, need, init.sitePeers),
    give: (project, need) => s.give(project, need),
    get transfers() {
      return s.transfers;
    },
  };
}
