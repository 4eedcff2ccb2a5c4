// Write acknowledgements: after a local write is durable, push its delta to the connected peers over a
// direct stream and wait until `acks` of them have it durably (or the timeout). A node alone accepts
// the write anyway and says so (edge sites get cut off); the caller reports `alone` to its client.
import type { RecordDelta } from "../../protocol/crdt/lww-map.ts";
import type { CrdtStore } from "../store/crdt-store.ts";
import type { Transport } from "./transport.ts";
import { stampedBy } from "./verify.ts";
import { decode, encode } from "./wire.ts";

export const REPLICATE_PROTOCOL = "/peerstack/replicate/1";

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
    return {
      start() {
        c.transport.handle(REPLICATE_PROTOCOL, async (from, data) => {
          const deltas = decode<{ deltas: RecordDelta[] }>(data, ["replicate"]).body.deltas;
          if (!Array.isArray(deltas) || deltas.some((d) => !stampedBy(d, from))) {
            counters.forgedDropped++;
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
        const msg = encode("replicate", c.transport.self, { deltas });
        let acked = 0;
        let settled = 0;
        return new Promise<AckResult>((resolve) => {
          const done = () => resolve({ wanted: acks, acked, alone: false });
          for (const p of peers) {
            c.transport
              .request(p, REPLICATE_PROTOCOL, msg, { timeoutMs })
              .then((res) => {
                if (decode<{ ok: boolean }>(res, ["replicate.ack"]).body.ok) acked++;
              })
              .catch(() => {})
              .finally(() => {
                settled++;
                if (acked >= wanted || settled === peers.length) done();
              });
          }
        });
      },

      stats: () => ({ ...counters }),
    };
  };
}
