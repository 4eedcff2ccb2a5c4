// Acknowledged writes: the API answers only after a write is durable here and held by `acks` peers
// (node/mesh/acks.ts). The store every route uses is wrapped, and each request collects the outcome
// of its writes in AsyncLocalStorage, so the response can say when a node was alone or short of acks.
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

/** Response header: "alone" (no peer connected), or "<acked>/<wanted>" for the least-acknowledged write. */
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
    if (r && r.writes > 0) reply.header(REPLICATION_HEADER, r.alone ? "alone" : `${r.acked}/${r.wanted}`);
    return payload;
  });
}
