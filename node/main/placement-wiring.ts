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
import { claimJournal } from "../capacity/claim-journal.ts";
import { Ledger } from "../capacity/ledger.ts";
import { imageQuotaHolder, ownerRelease, quotaHolders } from "../quota/owner-release.ts";
import type { QuotaAmounts } from "../quota/limits.ts";
import { strayClaims } from "../capacity/stray-claims.ts";
import { CapacityView } from "../capacity/view.ts";
import { bidder, type Bidder } from "../auction/bidder.ts";
import { requester, type Requester } from "../auction/requester.ts";
import type { Transport } from "../mesh/transport.ts";
import { placementService, SERVER_KIND, type PlacementService } from "../placement-service.ts";
import { placementExpiry, type MemberLiveness } from "../placement-expiry.ts";
import type { MemberView } from "../mesh/membership.ts";
import { QUOTA_TOPIC, quotaEscrow, type QuotaEscrow } from "../quota/escrow.ts";
import { systemClock, systemRandom } from "../runtime/system.ts";
import type { CrdtStore, RecordDelta } from "../store/crdt-store.ts";
import { LevelKv } from "../store/level-kv.ts";
import type { Resources } from "../../protocol/placement/index.ts";
import { COMPUTE_SERVICE } from "../../protocol/records.ts";

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
  /** The deadline of a placement (ms); recorded in the server record (node/placement-expiry.ts). */
  placeTimeoutMs?: number;
  /** Membership's view, for ending the placements of a dead front node. */
  members?: () => MemberView[];
  /** Write acks (node/mesh/acks.ts): a new server record is on a peer before POST /servers answers. */
  replicate?: (deltas: RecordDelta[]) => Promise<unknown>;
  env?: Record<string, string | undefined>;
  /** Limits a project created through this node is minted with (default DEFAULT_LIMITS). */
  defaultLimits?: QuotaAmounts;
}

export interface RunningPlacement {
  ledger: Ledger;
  view: CapacityView;
  bidder: Bidder;
  requester: Requester;
  quota: QuotaEscrow;
  placement: PlacementService;
  /** Decision latency of the auctions this node ran as front node (ms, most recent last). */
  decisions: { ms: number[]; failures: number };
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

/** Membership's view as the expiry rule reads it (when each member's last advert arrived). */
function livenessOf(self: string, view: MemberView[], now: number): MemberLiveness[] {
  const out: MemberLiveness[] = view.filter((m) => m.id !== self).map((m) => ({ id: m.id, state: m.state, lastHeardMs: m.lastAdvertAgoMs === null ? undefined : now - m.lastAdvertAgoMs }));
  return [...out, { id: self, state: "alive", lastHeardMs: now }];
}

const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export async function startPlacement(w: PlacementWiring): Promise<RunningPlacement> {
  const clock = systemClock;
  const random = systemRandom.fork("placement");
  const env = w.env ?? process.env;
  const total = hostTotals(w.dataDir, env);
  const ledger = new Ledger({ node: w.self, az: w.az, total });
  const view = new CapacityView(w.self, clock);
  const resourcesOf = (r: Record<string, unknown>) => ({ vcpus: n(r.vcpus), ramMb: n(r.ram), diskGb: n(r.disk) });
  const adoptRecord = (r: Record<string, unknown> & { id: string }) =>
    ledger.adopt({ serverId: r.id, attempt: n(r.placement_attempt ?? r.attempt) || 1, resources: resourcesOf(r), group: typeof r.group_id === "string" ? r.group_id : undefined });
  // Claims granted before a restart: the servers this node owns, and every claim it answered an award for.
  for (const r of w.store.list(SERVER_KIND, (r) => r.host === w.self)) adoptRecord(r);
  // Cinder volumes and their snapshots held here live on this host's disk: placement counts them as
  // used disk, so servers are not placed on disk the volumes took (Cinder's "gigabytes", summed).
  const reserveVolumes = () => {
    const held = [...w.store.list("volume", (r) => r.host === w.self), ...w.store.list("volume_snapshot", (r) => r.host === w.self)];
    ledger.setReserved({ vcpus: 0, ramMb: 0, diskGb: held.reduce((s, r) => s + n(r.size), 0) });
  };
  reserveVolumes();
  // An operator's `compute service set --disable` for this host: out of placement (ComputeFilter) until enabled.
  const applyService = () => {
    const enabled = w.store.get(COMPUTE_SERVICE, w.self)?.disabled !== true;
    if (ledger.snapshot().enabled !== enabled) {
      ledger.setEnabled(enabled);
      w.log.info({ enabled }, enabled ? "this host takes new servers again" : "this host is disabled for new servers");
    }
  };
  applyService();
  const ledgerKv = await LevelKv.open(join(w.dataDir, "ledger"));
  const journal = claimJournal()({ clock, kv: ledgerKv, ledger });
  const journaled = await journal.load();
  const stray = strayClaims({
    self: w.self,
    ledger,
    lookup: (id) => ({ record: w.store.get(SERVER_KIND, id), tombstoned: w.store.stateOf(SERVER_KIND, id)?.deleted !== undefined }),
    onRelease: (server, reason) => w.log.info({ server, reason }, "released a stray claim"),
  });
  stray.sweep();
  journal.start();
  const adverts = advertiser({ intervalMs: w.advertMs ? Math.max(w.advertMs, 1000) : 2000, coalesceMs: 100 })({ clock, random: random.fork("adverts"), transport: w.transport, ledger, view });
  const bid = bidder()({ clock, ledger, transport: w.transport });
  bid.hooks.durable = (serverId) => journal.persist(serverId);
  // Bid/award answers wait up to 2 s (PEERSTACK_BID_TIMEOUT_MS): a loaded 2-core host or a slow WAN
  // link answers late, and a late bid counted as silence fails placements while capacity is free.
  const bidTimeoutMs = Number(env.PEERSTACK_BID_TIMEOUT_MS) > 0 ? Number(env.PEERSTACK_BID_TIMEOUT_MS) : 2000;
  const req = requester({ bidTimeoutMs, awardTimeoutMs: bidTimeoutMs })({ clock, random: random.fork("requester"), transport: w.transport, view, local: bid });
  // Decision latency as the front node sees it (auction only: from the first bid ask to the award).
  const decisions = { ms: [] as number[], failures: 0 };
  const timed: Requester = {
    stats: req.stats,
    async place(spec, opts) {
      const t0 = performance.now();
      try {
        return await req.place(spec, opts);
      } catch (err) {
        decisions.failures++;
        throw err;
      } finally {
        decisions.ms.push(performance.now() - t0);
        if (decisions.ms.length > 200_000) decisions.ms.splice(0, 100_000);
      }
    },
  };
  const quotaKv = await LevelKv.open(join(w.dataDir, "quota"));
  // Reserves: every node keeps a small share of each project's rights, so it can create while cut off.
  const quota = quotaEscrow({ fullSyncMs: 15_000, reserveMs: 10_000 })({ clock, random: random.fork("quota"), transport: w.transport, hlc: w.store.hlc, kv: quotaKv });
  await quota.start();
  const placement = placementService()({ store: w.store, quota, requester: timed, self: w.self, clock, placeTimeoutMs: w.placeTimeoutMs, replicate: w.replicate });
  // Placements nobody will finish (their front node died or restarted) end as ERROR on some live node.
  const expiry = placementExpiry()({
    self: w.self,
    clock,
    store: w.store,
    quota,
    quotaOf: (r) => placement.quotaOf({ id: String(r.flavor_id), vcpus: n(r.vcpus), ram: n(r.ram), disk: n(r.disk) }),
    members: () => livenessOf(w.self, w.members?.() ?? [], clock.now()),
    placing: (id) => placement.placing(id),
    onEnded: (server, message) => w.log.info({ server, message }, "ended a placement nobody will finish"),
    onError: (server, err) => w.log.warn({ server, err: String(err) }, "ending an expired placement failed"),
  });
  const recovered = await expiry.sweep();
  expiry.start();
  // Deleted servers, volumes and snapshots give their quota back here, on the host that removes them.
  const returns = ownerRelease({
    self: w.self,
    store: w.store,
    quota,
    kinds: quotaHolders(placement.quotaOf),
    endedAnywhere: { image: imageQuotaHolder },
    onReleased: (kind, id, project, amounts) => w.log.info({ kind, id, project, amounts }, "returned the quota of a removed record"),
    onError: (kind, id, err) => w.log.warn({ kind, id, err: String(err) }, "returning the quota of a removed record failed"),
  });

  const off = w.store.onChange(({ delta, record, local }) => {
    if (delta.kind === "volume" || delta.kind === "volume_snapshot") reserveVolumes();
    else if (delta.kind === COMPUTE_SERVICE && delta.id === w.self) applyService();
    else if (delta.kind === SERVER_KIND && (!record || record.deleted === true || record.status === "DELETED")) {
      if (ledger.release(delta.id)) w.log.info({ server: delta.id }, "released the claim of a deleted server");
    } else if (delta.kind === SERVER_KIND && record) {
      // A record naming this host that we hold no claim for (awarded while we restarted): count it.
      if (record.host === w.self && !ledger.hasClaim(delta.id)) adoptRecord(record);
      else stray.check(delta.id);
    } else if (delta.kind === "project" && local && record) {
      // The node where a project is created mints its quota (initProject skips known limits).
      quota.initProject(record.id, w.defaultLimits).catch((err: unknown) => w.log.warn({ project: record.id, err: String(err) }, "minting project quota failed"));
    }
  });
  // Holds lapse lazily on the next bid; sweep them so adverts do not show lapsed holds for long.
  // The stray-claim rule also runs here (a record's change may have arrived before the claim).
  const sweep = setInterval(() => {
    ledger.expire(clock.now());
    stray.sweep();
  }, 5000);
  sweep.unref();
  bid.start();
  adverts.start();
  w.log.info({ total, claims: ledger.claimsList().length, journaled, recovered }, "placement started");
  return {
    ledger,
    view,
    bidder: bid,
    requester: req,
    quota,
    placement,
    decisions,
    async stop() {
      clearInterval(sweep);
      expiry.stop();
      off();
      returns.stop();
      await returns.idle();
      adverts.stop();
      bid.stop();
      quota.stop();
      await journal.stop();
      await quotaKv.close();
      await ledgerKv.close();
    },
  };
}
