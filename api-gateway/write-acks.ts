// Acknowledged writes, best effort: a write is committed once it is durable here; the API then waits
// (up to the push timeout, node/mesh/acks.ts) for `write.acks` peers to hold it, and answers success
// either way, saying in a header how many did. No 503: the write is already committed and gossip
// delivers it, so a client retrying a "failed" write would make it twice (a second server, a second
// volume). The store every route uses is wrapped; each request collects its writes' outcome in
// AsyncLocalStorage.
import { AsyncLocalStorage } from "node:async_hooks";
import type { FastifyInstance } from "fastify";
import type { RecordDelta } from "../node/store/crdt-store.ts";
import type { GatewayStore } from "./store.ts";

export interface AckOutcome {
  wanted: number;
  acked: number;
  /** No peer was connected: the write is only on this node. */
  alone: boolean;
}

/** What the agent passes: `writeAcks.replicate` from node/mesh/acks.ts fits. */
export type Replicate = (deltas: RecordDelta[]) => Promise<AckOutcome>;

interface RequestWrites {
  writes: number;
  alone: boolean;
  /** Fewest acks any write of the request got, and what it wanted. */
  acked: number;
  wanted: number;
}

/**
 * Response header on writes: "alone" (no peer connected), "<acked>/<wanted>" when every write is held by
 * `wanted` peers, "<acked>/<wanted> best-effort" when the least-acknowledged one is not (committed here only).
 */
export const REPLICATION_HEADER = "X-Peerstack-Replication";

const requests = new AsyncLocalStorage<RequestWrites>();

export function ackingStore(store: GatewayStore, replicate: Replicate): GatewayStore {
  const after = async (delta: RecordDelta): Promise<RecordDelta> => {
    const outcome = await replicate([delta]);
    const r = requests.getStore();
    if (r) {
      r.writes++;
      r.alone ||= outcome.alone;
      if (r.writes === 1 || outcome.acked - outcome.wanted < r.acked - r.wanted) {
        r.acked = outcome.acked;
        r.wanted = outcome.wanted;
      }
    }
    return delta;
  };
  return {
    get: (kind, id) => store.get(kind, id),
    list: (kind, filter) => store.list(kind, filter),
    stateOf: (kind, id) => store.stateOf(kind, id),
    put: async (kind, id, fields) => after(await store.put(kind, id, fields)),
    remove: async (kind, id) => after(await store.remove(kind, id)),
  };
}

/** Runs each request in its own write-tracking context and reports the outcome in a header. */
export function useWriteTracking(app: FastifyInstance): void {
  app.addHook("onRequest", (req, _reply, done) => {
    // Reads write nothing: no context for them (the hot path of the API).
    if (req.method === "GET" || req.method === "HEAD") return done();
    requests.run({ writes: 0, alone: false, acked: 0, wanted: 0 }, done);
  });
  app.addHook("onSend", async (_req, reply, payload) => {
    const r = requests.getStore();
    if (r && r.writes > 0) reply.header(REPLICATION_HEADER, replicationHeader(r));
    return payload;
  });
}

export function replicationHeader(r: { alone: boolean; acked: number; wanted: number }): string {
  if (r.alone) return "alone";
  return r.acked >= r.wanted ? `${r.acked}/${r.wanted}` : `${r.acked}/${r.wanted} best-effort`;
}
