// An in-memory placement mesh for tests and benchmarks: per node a ledger, capacity view, advertiser,
// bidder and requester over one MemoryNetwork and ManualClock.
import type { Resources } from "../../protocol/placement/index.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { advertiser, type Advertiser } from "../capacity/adverts.ts";
import { Ledger, type HostDescription } from "../capacity/ledger.ts";
import { CapacityView } from "../capacity/view.ts";
import { MemoryNetwork, type MemoryTransport } from "../mesh/memory-transport.ts";
import { bidder, type Bidder } from "./bidder.ts";
import { requester, type Requester, type RequesterInit } from "./requester.ts";

export interface PlacementNode {
  id: string;
  transport: MemoryTransport;
  ledger: Ledger;
  view: CapacityView;
  adverts: Advertiser;
  bidder: Bidder;
  requester: Requester;
}

export interface PlacementMeshOptions {
  nodes: number;
  seed?: number;
  latencyMs?: number;
  total?: Resources | ((i: number) => Resources);
  describe?: (i: number) => Partial<HostDescription>;
  requester?: RequesterInit;
  advertIntervalMs?: number;
}

export function placementMesh(o: PlacementMeshOptions) {
  const clock = new ManualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: o.latencyMs ?? 1 });
  const random = new SeededRandom(o.seed ?? 1);
  const nodes: PlacementNode[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const id = `n${String(i).padStart(4, "0")}`;
    const transport = net.join(id);
    const total = typeof o.total === "function" ? o.total(i) : (o.total ?? { vcpus: 8, ramMb: 16384, diskGb: 200 });
    const ledger = new Ledger({ node: id, total, ...o.describe?.(i) });
    const view = new CapacityView(id, clock);
    const r = random.fork(id);
    const adverts = advertiser({ intervalMs: o.advertIntervalMs ?? 2000, coalesceMs: 50 })({ clock, random: r.fork("adverts"), transport, ledger, view });
    const bid = bidder()({ clock, ledger, transport });
    const req = requester(o.requester)({ clock, random: r.fork("requester"), transport, view, local: bid });
    nodes.push({ id, transport, ledger, view, adverts, bidder: bid, requester: req });
  }
  return {
    clock,
    net,
    nodes,
    start() {
      for (const n of nodes) {
        n.bidder.start();
        n.adverts.start();
      }
    },
    stop() {
      for (const n of nodes) {
        n.adverts.stop();
        n.bidder.stop();
      }
    },
    /** Runs the clock until every promise settles (or maxMs passes). */
    async settle<T>(promises: Promise<T>[], maxMs = 60_000, stepMs = 1): Promise<PromiseSettledResult<T>[]> {
      let done = false;
      const all = Promise.allSettled(promises).then((r) => {
        done = true;
        return r;
      });
      for (let t = 0; !done && t < maxMs; t += stepMs) await clock.run(stepMs, stepMs);
      return all;
    },
  };
}
