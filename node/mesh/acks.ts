// Write acknowledgements: after a local write is durable, push its delta to `acks` connected peers (plus
// one spare, more only if those fail) over a direct stream and wait until `acks` of them have it durably
// (or the timeout); gossip brings it to the others. Pushes to one peer are coalesced: while one is in
// flight, the writes made meanwhile go together in the next. A node alone accepts the write anyway and
// says so (edge sites get cut off); the caller reports `alone` to its client.
import type { RecordDelta } from "../../protocol/crdt/lww-map.ts";
import type { CrdtStore } from "../store/crdt-store.ts";
import type { Transport } from "./transport.ts";
import { checkAuthorship } from "./verify.ts";
import { decode, encode } from "./wire.ts";

export const REPLICATE_PROTOCOL = "/peerstack/replicate/1";
/** Deltas in one push at most (the rest go in the next); well under the mesh message cap. */
const MAX_DELTAS_PER_PUSH = 512;

export interface AckResult {
  wanted: number;
  acked: number;
  /** No peer was connected: the write is only on this node. */
  alone: boolean;
}

export interface WriteAcksInit {
  acks?: number;
  timeoutMs?: number;
}

export interface WriteAcksComponents {
  transport: Transport;
  store: Pick<CrdtStore, "applyRemote">;
}

export interface WriteAcks {
  start(): void;
  replicate(deltas: RecordDelta[], acks?: number): Promise<AckResult>;
  stats(): { forgedDropped: number; acksServed: number };
}

export function writeAcks(init: WriteAcksInit = {}): (c: WriteAcksComponents) => WriteAcks {
  const defaultAcks = init.acks ?? 1;
  const timeoutMs = init.timeoutMs ?? 2000;
  return (c) => {
    const counters = { forgedDropped: 0, acksServed: 0 };
    let rotation = 0;
    // Per peer: one push in flight; deltas of writes made meanwhile go together in the next one.
    type Waiting = { deltas: RecordDelta[]; resolve: (ok: boolean) => void };
    const queues = new Map<string, { waiting: Waiting[]; busy: boolean }>();
    const push = (peer: string, deltas: RecordDelta[]): Promise<boolean> =>
      new Promise((resolve) => {
        let q = queues.get(peer);
        if (!q) queues.set(peer, (q = { waiting: [], busy: false }));
        q.waiting.push({ deltas, resolve });
        if (!q.busy) send(peer, q);
      });
    const send = (peer: string, q: { waiting: Waiting[]; busy: boolean }) => {
      let n = 0;
      let take = 0;
      while (take < q.waiting.length && (take === 0 || n + q.waiting[take]!.deltas.length <= MAX_DELTAS_PER_PUSH)) n += q.waiting[take++]!.deltas.length;
      const batch = q.waiting.splice(0, take);
      q.busy = true;
      c.transport
        .request(peer, REPLICATE_PROTOCOL, encode("replicate", c.transport.self, { deltas: batch.flatMap((w) => w.deltas) }), { timeoutMs })
        .then((res) => decode<{ ok: boolean }>(res, ["replicate.ack"]).body.ok === true)
        .catch(() => false)
        .then((ok) => {
          for (const w of batch) w.resolve(ok);
          q.busy = false;
          if (q.waiting.length > 0) send(peer, q);
          else queues.delete(peer);
        });
    };
    return {
      start() {
        c.transport.handle(REPLICATE_PROTOCOL, async (from, data) => {
          const deltas = decode<{ deltas: RecordDelta[] }>(data, ["replicate"]).body.deltas;
          const verdict = checkAuthorship(Array.isArray(deltas) ? deltas : [deltas], from, "push");
          if (verdict.forged > 0) {
            counters.forgedDropped += verdict.forged;
            return encode("replicate.ack", c.transport.self, { ok: false });
          }
          await c.store.applyRemote(deltas);
          counters.acksServed++;
          return encode("replicate.ack", c.transport.self, { ok: true });
        });
      },

      async replicate(deltas, acks = defaultAcks): Promise<AckResult> {
        const peers = c.transport.peers();
        const wanted = Math.min(acks, peers.length);
        if (acks <= 0) return { wanted: 0, acked: 0, alone: peers.length === 0 };
        if (peers.length === 0) return { wanted: acks, acked: 0, alone: true };
        // Pushed to `wanted` peers plus one spare (a slow peer does not hold the answer up), the next
        // ones only if those fail; gossip brings the deltas to everyone else.
        const start = rotation++ % peers.length;
        const order = [...peers.slice(start), ...peers.slice(0, start)];
        let acked = 0;
        let inFlight = 0;
        let next = 0;
        return new Promise<AckResult>((resolve) => {
          const done = () => resolve({ wanted: acks, acked, alone: false });
          const launch = () => {
            while (acked + inFlight < wanted + 1 && next < order.length) {
              inFlight++;
              // push never rejects: a failed or refused push answers false
              void push(order[next++]!, deltas).then((ok) => {
                if (ok) acked++;
                inFlight--;
                if (acked >= wanted) return done();
                launch();
                if (inFlight === 0) done(); // every peer tried
              });
            }
          };
          launch();
        });
      },

      stats: () => ({ ...counters }),
    };
  };
}
