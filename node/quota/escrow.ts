// Quota escrow: one bounded counter per (project, resource) (protocol/crdt/bounded-counter.ts). A
// node spends only the rights it holds; when short it asks peers with spare rights for a transfer
// (direct stream) — a donor gives at least what was asked, or half its spare when that is more, so
// rights drift to where the demand is; with `reserveMs` a node holding none asks in the background for
// a small share, so it can still create when cut off. Deletes return rights to the node that ends the
// resource (node/quota/owner-release.ts). Every change is
// made durable (KvStore) before it is used, then gossiped as a delta; full states travel with
// transfers and with the optional periodic sync, so partitions heal.
import { pack, unpack } from "msgpackr";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import type { Cancel, Clock } from "../../protocol/clock.ts";
import type { Hlc } from "../../protocol/hlc.ts";
import type { Random } from "../../protocol/random.ts";
import { fields } from "../../protocol/validate.ts";
import { sharedDecoder } from "../mesh/shared-decode.ts";
import type { Transport } from "../mesh/transport.ts";
import { decode, encode } from "../mesh/wire.ts";
import type { KvStore } from "../store/kv.ts";
import { DEFAULT_LIMITS, QuotaExceededError, quotaKey, type QuotaAmounts, type QuotaResource } from "./limits.ts";

export const QUOTA_TOPIC = "peerstack/quota/1";
export const QUOTA_TRANSFER_PROTOCOL = "/peerstack/quota/transfer/1";
const KV_PREFIX = "quota/";

export interface QuotaEscrowInit {
  /** Reachable peers with unknown rights asked when no peer is known to hold any. */
  askUnknown?: number;
  timeoutMs?: number;
  /** Publish every counter's full state this often (0 = never; transfers and deltas only). */
  fullSyncMs?: number;
  /**
   * The gossip topic of this node's deltas and full states (default QUOTA_TOPIC, every node). A large
   * mesh gives each group of nodes that serve the same projects (a site, an AZ) its own topic, so a
   * delta is decoded only where its project is used; transfers (direct) work across topics.
   */
  topic?: string;
  /**
   * Every this often (0 = never), a node holding no spare rights for a counter asks the peer with the
   * most for a small share (a fraction of limit / nodes), so that a node cut off later can still
   * create within the project's quota. Rights only move: the limit holds across any partition.
   */
  reserveMs?: number;
}

export interface QuotaEscrowComponents {
  clock: Clock;
  random: Random;
  transport: Transport;
  hlc: Hlc;
  /** Where counters are made durable; omitted = memory only (simulator without crashes). */
  kv?: KvStore;
}

export interface QuotaEscrow {
  start(): Promise<void>;
  stop(): void;
  /** Mints the project's limits here unless this node already knows of limits for it. Call once, where the project is created. */
  initProject(project: string, limits?: QuotaAmounts): Promise<void>;
  /** Admin limit change (raise mints here; lower pledges and re-balances). */
  setLimit(project: string, resource: QuotaResource, value: number): Promise<void>;
  /** Spends rights for every resource or none; QuotaExceededError if even peers cannot cover it. */
  take(project: string, amounts: QuotaAmounts): Promise<void>;
  /** Gives rights back here (a resource was deleted through this node; once per resource). */
  release(project: string, amounts: QuotaAmounts): Promise<void>;
  counter(project: string, resource: QuotaResource): bc.BoundedCounter;
  /** Rights this node holds for (project, resource). */
  rights(project: string, resource: QuotaResource): number;
  readonly stats: { transfersAsked: number; transfersGiven: number; messages: number };
}

interface TransferAsk {
  key: string;
  want: number;
  /** A reserve ask (background): give at most `want`, and never more than half the spare. */
  reserve?: boolean;
}

/** What a gossiped quota message carries: counter deltas (their author's rows only) or full states. */
interface QuotaGossip {
  type: "quota.delta" | "quota.deltas" | "quota.state";
  entries: { key: string; state: bc.BoundedCounter }[];
}

/**
 * Decoded once per message (many subscribers of one topic in the simulator share it). "quota.delta"
 * and "quota.state" carry one key; "quota.deltas" (one take or release of several resources) a list.
 */
const decodeQuotaGossip = sharedDecoder((data: Uint8Array): QuotaGossip => {
  const env = decode(data, ["quota.delta", "quota.deltas", "quota.state"]);
  const f = fields(env.body, "body");
  const type = env.type as QuotaGossip["type"];
  if (type === "quota.deltas") {
    const entries = f.array(
      "deltas",
      (y, q) => {
        const g = fields(y, q);
        return { key: g.string("key", { min: 3, max: 512 }), state: g.field("delta", bc.read) };
      },
      { max: 64 },
    );
    return { type, entries };
  }
  const key = f.string("key", { min: 3, max: 512 });
  return { type, entries: [{ key, state: bc.read(f.field(type === "quota.delta" ? "delta" : "state", (x) => x), "body") }] };
});

export function quotaEscrow(init: QuotaEscrowInit = {}): (c: QuotaEscrowComponents) => QuotaEscrow {
  const askUnknown = init.askUnknown ?? 3;
  const timeoutMs = init.timeoutMs ?? 1000;
  const topic = init.topic ?? QUOTA_TOPIC;
  return (c) => {
    const me = c.transport.self;
    const counters = new Map<string, bc.BoundedCounter>();
    const inflight = new Map<string, Promise<void>>();
    /** Rights wanted by takes waiting on each key: one gathering asks for all of them. */
    const demand = new Map<string, number>();
    const stats = { transfersAsked: 0, transfersGiven: 0, messages: 0 };
    const off: (() => void)[] = [];
    let sync: Cancel | undefined;
    let reserveTimer: Cancel | undefined;

    const get = (key: string) => counters.get(key) ?? bc.empty();

    async function persist(keys: Iterable<string>): Promise<void> {
      if (!c.kv) return;
      await c.kv.batch([...keys].map((key) => ({ type: "put" as const, key: KV_PREFIX + key, value: pack(get(key)) })), { sync: true });
    }

    /** Applies local steps: durable first, then gossiped. */
    async function commit(steps: [string, bc.Step][]): Promise<void> {
      for (const [key, s] of steps) counters.set(key, bc.merge(get(key), s.state));
      await persist(steps.map(([k]) => k));
      if (steps.length === 0) return;
      // One message per commit: a take of three resources is one gossip message, not three.
      const data =
        steps.length === 1
          ? encode("quota.delta", me, { key: steps[0][0], delta: steps[0][1].delta })
          : encode("quota.deltas", me, { deltas: steps.map(([key, s]) => ({ key, delta: s.delta })) });
      void c.transport.publish(topic, data).catch(() => {});
    }

    /**
     * Merges remote knowledge, then does what the merge asks of us (reconcile a limit, pay debts).
     * `durable: false` (gossip): other nodes' rows need no write here — their authors made them durable
     * and gossip, transfers and full syncs bring them back; forgetting them in a crash only
     * under-counts our rights (safe). Steps of our own are always written first (commit).
     */
    async function absorb(key: string, remote: bc.BoundedCounter, durable = true): Promise<void> {
      const before = get(key);
      const merged = bc.merge(before, remote);
      counters.set(key, merged);
      const steps: [string, bc.Step][] = [];
      let s = merged;
      const push = (st: bc.Step | undefined) => {
        if (!st) return;
        steps.push([key, st]);
        s = st.state;
      };
      push(bc.reconcileLimit(s, me));
      push(bc.settle(s, me));
      if (bc.totalDebt(s) > 0 && bc.debt(s, me) === 0) {
        // pay other nodes' debts out of our spare rights so a lowered limit takes effect
        for (const debtor of Object.keys(s.pledges)) {
          const give = Math.min(bc.transferable(s, me), bc.debt(s, debtor));
          if (debtor !== me && give > 0) push(bc.transfer(s, me, debtor, give));
        }
      }
      if (steps.length > 0) await commit(steps);
      else if (durable) await persist([key]);
    }

    async function askPeer(peer: string, key: string, want: number, reserve = false): Promise<boolean> {
      stats.transfersAsked++;
      stats.messages += 2;
      try {
        const answer = await c.transport.request(peer, QUOTA_TRANSFER_PROTOCOL, encode<TransferAsk>("quota.transfer", me, { key, want, ...(reserve ? { reserve } : {}) }), { timeoutMs });
        const f = fields(decode(answer, ["quota.state"]).body, "body");
        await absorb(key, bc.read(f.field("state", (x) => x), "body.state"));
        return true;
      } catch {
        return false;
      }
    }

    /** Asks, for each counter this node holds no spare rights of, the richest peer for a share (init.reserveMs). */
    async function keepReserves(only?: readonly string[]): Promise<void> {
      const reachable = c.transport.peers();
      if (reachable.length === 0) return;
      for (const [key, s] of only ? only.map((k) => [k, get(k)] as const) : counters) {
        const limit = s.target?.value ?? bc.limit(s);
        if (!(limit > 0) || bc.available(s, me) > 0 || inflight.has(key)) continue;
        const richest = reachable.filter((p) => bc.transferable(s, p) >= 2).sort((a, b) => bc.transferable(s, b) - bc.transferable(s, a))[0];
        if (!richest) continue;
        // A quarter of an even split: enough to keep creating while cut off, little taken from the others.
        const share = Math.max(1, Math.floor(limit / (reachable.length + 1) / 4));
        await askPeer(richest, key, share, true);
      }
    }

    /** Gathers rights for `key` until `need` are available here (best effort; one gathering per key at a time). */
    function acquire(key: string): Promise<void> {
      const running = inflight.get(key);
      if (running) return running;
      const p = (async () => {
        const s = get(key);
        const reachable = new Set(c.transport.peers());
        const known = [...reachable].filter((p) => bc.transferable(s, p) > 0).sort((a, b) => bc.transferable(s, b) - bc.transferable(s, a));
        const unknown = [...reachable].filter((p) => !known.includes(p));
        for (let i = 0; i < askUnknown && unknown.length > 0; i++) known.push(unknown.splice(c.random.int(unknown.length), 1)[0]);
        for (const peer of known) {
          const short = (demand.get(key) ?? 0) - bc.available(get(key), me);
          if (short <= 0) break;
          await askPeer(peer, key, short);
        }
      })().finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    }

    function shortfalls(project: string, amounts: QuotaAmounts): [string, number][] {
      const out: [string, number][] = [];
      for (const [r, n] of Object.entries(amounts)) if (n && n > 0 && bc.available(get(quotaKey(project, r)), me) < n) out.push([r, n]);
      return out;
    }

    const escrow: QuotaEscrow = {
      stats,
      async start() {
        if (c.kv) for await (const [k, v] of c.kv.iterate({ prefix: KV_PREFIX })) counters.set(k.slice(KV_PREFIX.length), bc.read(unpack(v), k));
        off.push(
          c.transport.subscribe(topic, (msg) => {
            if (msg.from === me) return;
            try {
              const g = decodeQuotaGossip(msg.data);
              // a node writes only its own rows: deltas are checked against their sender
              if (g.type !== "quota.state" && !g.entries.every((e) => bc.isAuthoredBy(e.state, msg.from))) return;
              for (const e of g.entries) void absorb(e.key, e.state, false).catch(() => {});
            } catch {
              // malformed: dropped; anti-entropy will bring the truth
            }
          }),
        );
        c.transport.handle(QUOTA_TRANSFER_PROTOCOL, async (from, data) => {
          const f = fields(decode(data, ["quota.transfer"]).body, "body");
          const key = f.string("key", { min: 3, max: 512 });
          const want = f.count("want", { min: 1 });
          const reserve = f.optional("reserve", (x) => x === true) === true;
          const s = get(key);
          const spare = bc.transferable(s, me);
          const give = reserve ? Math.min(want, Math.floor(spare / 2)) : Math.min(spare, Math.max(want, Math.floor(spare / 2)));
          if (give > 0 && from !== me) {
            stats.transfersGiven++;
            await commit([[key, bc.transfer(s, me, from, give)]]);
          }
          return encode("quota.state", me, { key, state: get(key) });
        });
        if (init.reserveMs) {
          const tick = () => {
            void keepReserves().finally(() => {
              reserveTimer = c.clock.schedule(init.reserveMs!, tick);
            });
          };
          reserveTimer = c.clock.schedule(init.reserveMs * (0.5 + c.random.next()), tick);
        }
        if (init.fullSyncMs) {
          const tick = () => {
            for (const [key, state] of counters) void c.transport.publish(topic, encode("quota.state", me, { key, state })).catch(() => {});
            sync = c.clock.schedule(init.fullSyncMs!, tick);
          };
          sync = c.clock.schedule(init.fullSyncMs * (0.5 + c.random.next()), tick);
        }
      },
      stop() {
        sync?.();
        reserveTimer?.();
        for (const f of off.splice(0)) f();
      },
      async initProject(project, limits = DEFAULT_LIMITS) {
        const steps: [string, bc.Step][] = [];
        for (const [r, value] of Object.entries(limits)) {
          const key = quotaKey(project, r);
          if (value === undefined || get(key).target) continue;
          steps.push([key, bc.setLimit(get(key), me, value, c.hlc.now())]);
        }
        await commit(steps);
      },
      async setLimit(project, resource, value) {
        const key = quotaKey(project, resource);
        await commit([[key, bc.setLimit(get(key), me, value, c.hlc.now())]]);
      },
      async take(project, amounts) {
        const wanted = Object.entries(amounts).filter(([, n]) => n && n > 0) as [string, number][];
        for (const [r, n] of wanted) demand.set(quotaKey(project, r), (demand.get(quotaKey(project, r)) ?? 0) + n);
        try {
          for (let round = 0; round < 3; round++) {
            const short = shortfalls(project, amounts);
            if (short.length === 0) break;
            await Promise.all(short.map(([r]) => acquire(quotaKey(project, r))));
          }
        } finally {
          for (const [r, n] of wanted) demand.set(quotaKey(project, r), (demand.get(quotaKey(project, r)) ?? n) - n);
        }
        const short = shortfalls(project, amounts)[0];
        if (short) {
          const s = get(quotaKey(project, short[0]));
          const why = bc.totalDebt(s) > 0 ? " (a lowered limit is being applied)" : "";
          throw new QuotaExceededError(project, short[0], short[1], bc.usage(s), s.target?.value ?? bc.limit(s), why);
        }
        // all present: spend them in one synchronous step, so concurrent takes cannot both count them
        const steps: [string, bc.Step][] = [];
        for (const [r, n] of Object.entries(amounts)) {
          if (!n) continue;
          const key = quotaKey(project, r);
          const st = bc.consume(get(key), me, n);
          counters.set(key, st.state);
          steps.push([key, st]);
        }
        await commit(steps);
        // Spent the last spare rights here: top the reserve up now rather than at the next tick.
        const drained = steps.map(([k]) => k).filter((k) => bc.available(get(k), me) === 0);
        if (init.reserveMs && drained.length > 0) c.clock.schedule(50, () => void keepReserves(drained).catch(() => {}));
      },
      async release(project, amounts) {
        const steps: [string, bc.Step][] = [];
        for (const [r, n] of Object.entries(amounts)) {
          if (!n) continue;
          const key = quotaKey(project, r);
          const st = bc.release(get(key), me, n);
          counters.set(key, st.state);
          steps.push([key, st]);
        }
        await commit(steps);
      },
      counter: (project, resource) => get(quotaKey(project, resource)),
      rights: (project, resource) => bc.rights(get(quotaKey(project, resource)), me),
    };
    return escrow;
  };
}
