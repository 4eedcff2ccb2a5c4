// Binds placement to the real libp2p transport: this host's capacity ledger (totals from the machine,
// overridable by PEERSTACK_VCPUS / PEERSTACK_RAM_MB / PEERSTACK_DISK_GB), adverts on gossip, the bidder
// (bid/award/release streams), the requester, the quota escrow (durable in <dataDir>/quota, rights
// transfers over direct streams) and the placement service the server API calls. Also: claims of
// servers this node owns are re-adopted after a restart, deleted servers free their claim, and a
// project created through this node gets its quota minted here. Logic stays in node/capacity,
// node/auction, node/quota and node/placement-service.ts.
import { statfsSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { advertiser, CAPACITY_TOPIC } from "../capacity/adverts.ts";
import { Ledger } from "../capacity/ledger.ts";
import { CapacityView } from "../capacity/view.ts";
import { bidder, type Bidder } from "../auction/bidder.ts";
import { requester, type Requester } from "../auction/requester.ts";
import type { Transport } from "../mesh/transport.ts";
import { placementService, SERVER_KIND, type PlacementService } from "../placement-service.ts";
import { QUOTA_TOPIC, quotaEscrow, type QuotaEscrow } from "../quota/escrow.ts";
import { systemClock, systemRandom } from "../runtime/system.ts";
import type { CrdtStore } from "../store/crdt-store.ts";
import { LevelKv } from "../store/level-kv.ts";
import type { Resources } from "../../protocol/placement/index.ts";

/** Gossip topics placement uses (the libp2p host must allow them). */
export const PLACEMENT_TOPICS = [CAPACITY_TOPIC, QUOTA_TOPIC];

export interface PlacementWiring {
  dataDir: string;
  self: string;
  az: string;
  store: CrdtStore;
  transport: Transport;
  log: Logger;
  advertMs?: number;
  env?: Record<string, string | undefined>;
}

export interface RunningPlacement {
  ledger: Ledger;
  view: CapacityView;
  bidder: Bidder;
  requester: Requester;
  quota: QuotaEscrow;
  placement: PlacementService;
  stop(): Promise<void>;
}

/** This machine's totals: cores, RAM (MiB, minus 512 for the host), the data dir's filesystem (GiB). */
export function hostTotals(dataDir: string, env: Record<string, string | undefined> = process.env): Resources {
  const fs = statfsSync(dataDir);
  const num = (v: string | undefined, d: number) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : d);
  return {
    vcpus: num(env.PEERSTACK_VCPUS, cpus().length),
    ramMb: num(env.PEERSTACK_RAM_MB, Math.max(0, Math.floor(totalmem() / 1024 / 1024) - 512)),
    diskGb: num(env.PEERSTACK_DISK_GB, Math.floor((fs.blocks * fs.bsize) / 1024 ** 3)),
  };
}

const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export async function startPlacement(w: PlacementWiring): Promise<RunningPlacement> {
  const clock = systemClock;
  const random = systemRandom.fork("placement");
  const total = hostTotals(w.dataDir, w.env);
  const ledger = new Ledger({ node: w.self, az: w.az, total });
  const view = new CapacityView(w.self, clock);
  // Claims granted before a restart: the servers this node owns.
  for (const r of w.store.list(SERVER_KIND, (r) => r.host === w.self)) {
    ledger.adopt({ serverId: r.id, attempt: n(r.placement_attempt ?? r.attempt) || 1, resources: { vcpus: n(r.vcpus), ramMb: n(r.ram), diskGb: n(r.disk) }, group: typeof r.group_id === "string" ? r.group_id : undefined });
  }
  const adverts = advertiser({ intervalMs: w.advertMs ? Math.max(w.advertMs, 1000) : 2000, coalesceMs: 100 })({ clock, random: random.fork("adverts"), transport: w.transport, ledger, view });
  const bid = bidder()({ clock, ledger, transport: w.transport });
  const req = requester()({ clock, random: random.fork("requester"), transport: w.transport, view, local: bid });
  const quotaKv = await LevelKv.open(join(w.dataDir, "quota"));
  const quota = quotaEscrow({ fullSyncMs: 15_000 })({ clock, random: random.fork("quota"), transport: w.transport, hlc: w.store.hlc, kv: quotaKv });
  await quota.start();
  const placement = placementService()({ store: w.store, quota, requester: req });

  const off = w.store.onChange(({ delta, record, local }) => {
    if (delta.kind === SERVER_KIND && (!record || record.deleted === true || record.status === "DELETED")) {
      if (ledger.release(delta.id)) w.log.info({ server: delta.id }, "released the claim of a deleted server");
    } else if (delta.kind === "project" && local && record) {
      // The node where a project is created mints its quota (initProject skips known limits).
      quota.initProject(record.id).catch((err: unknown) => w.log.warn({ project: record.id, err: String(err) }, "minting project quota failed"));
    }
  });
  // Holds lapse lazily on the next bid; sweep them so adverts do not show lapsed holds for long.
  const sweep = setInterval(() => ledger.expire(clock.now()), 5000);
  sweep.unref();
  bid.start();
  adverts.start();
  w.log.info({ total }, "placement started");
  return {
    ledger,
    view,
    bidder: bid,
    requester: req,
    quota,
    placement,
    async stop() {
      clearInterval(sweep);
      off();
      adverts.stop();
      bid.stop();
      quota.stop();
      await quotaKv.close();
    },
  };
}
