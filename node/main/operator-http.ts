// The operator listener's routes (never the public API port: issue #13): /healthz, /mesh (peers,
// liveness, catalog digest, lag), /mesh/records (raw record reads and writes for `peerstack`, the lab,
// tests and benches), DELETE /mesh/nodes/:id, /metrics, and with debugRoutes a raw gossip publisher
// and a raw direct request for forged/skewed message tests. Whoever reaches this listener is the operator: it binds a 0600
// unix socket by default (filesystem permission is the auth), or an address the operator chose.
import { createHash } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { PeerstackError } from "../../protocol/errors.ts";
import type { Libp2pTransport } from "../adapters/libp2p-transport.ts";
import type { WriteAcks } from "../mesh/acks.ts";
import type { Membership } from "../mesh/membership.ts";
import type { Replicator } from "../mesh/replicator.ts";
import { decode, encode } from "../mesh/wire.ts";
import type { CrdtStore, RecordDelta } from "../store/crdt-store.ts";
import type { StoreDigest } from "../store/digest.ts";

export interface OperatorHttpDeps {
  self: string;
  name: string;
  az: string;
  addresses: () => string[];
  store: CrdtStore;
  transport: Libp2pTransport;
  replicator: Replicator;
  membership: Membership;
  acks: WriteAcks;
  registry: Registry;
  writeAcks: number;
  debugRoutes: boolean;
  /** Replaces the set of peers the connection gater refuses (and hangs up on them). */
  deny?: (peers: string[]) => Promise<void>;
  /** After a dead node is removed: adopt its records; returns how many. */
  onNodeRemoved?: (id: string) => Promise<number>;
}

export function digestHash(d: StoreDigest): string {
  const kinds = Object.keys(d.kinds).sort();
  const h = createHash("sha256");
  for (const k of kinds) h.update(`${k}:${d.kinds[k].hash.join(",")}:${d.kinds[k].count.join(",")};`);
  return h.digest("hex").slice(0, 16);
}

interface WriteBody {
  writes: Array<{ kind: string; id: string; fields?: Record<string, unknown>; remove?: boolean }>;
  acks?: number;
}

export function buildOperatorHttp(deps: OperatorHttpDeps): FastifyInstance {
  // Router options as api-gateway/app.ts buildApp sets them (OpenStack clients add trailing slashes).
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 } });
  const { store } = deps;

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err instanceof PeerstackError ? err.code : undefined;
    const status = code === "MEMBER_NOT_DEAD" ? 409 : code === "MEMBER_UNKNOWN" ? 404 : code ? 400 : (err.statusCode ?? 500);
    void reply.status(status).send({ error: { code: code ?? "INTERNAL", message: err.message } });
  });

  app.get("/healthz", async () => ({ ok: true, node: deps.self, name: deps.name, peers: deps.transport.peers().length }));

  app.get("/mesh", async () => {
    const stats = store.stats();
    const rep = deps.replicator.stats();
    return {
      node: deps.self,
      name: deps.name,
      az: deps.az,
      addresses: deps.addresses(),
      peers: deps.membership.view(),
      connected: deps.transport.peers().length,
      catalog: { digest: digestHash(store.digest()), records: stats.records, live: stats.live, seq: stats.seq },
      lagMs: rep.lastLagMs,
      replication: rep,
    };
  });

  app.post<{ Body: WriteBody }>("/mesh/records", async (req, reply) => {
    const { writes } = req.body;
    if (!Array.isArray(writes) || writes.length === 0) return reply.status(400).send({ error: { code: "BAD_REQUEST", message: "body needs writes: [{kind, id, fields}]" } });
    const deltas: RecordDelta[] = await Promise.all(writes.map((w) => (w.remove ? store.remove(w.kind, w.id) : store.put(w.kind, w.id, w.fields ?? {}))));
    const acks = req.body.acks ?? deps.writeAcks;
    const ack = await deps.acks.replicate(deltas, acks);
    if (ack.alone) void reply.header("x-peerstack-alone", "true");
    return { written: deltas.length, acks: ack };
  });

  // ?wait=MS holds the answer until the record exists (or MS pass): lets tests and the benchmark
  // see the moment a write arrives without polling.
  app.get<{ Params: { kind: string; id: string }; Querystring: { wait?: string } }>("/mesh/records/:kind/:id", async (req, reply) => {
    const waitMs = Math.min(Number(req.query.wait ?? 0) || 0, 60_000);
    if (waitMs > 0 && !store.get(req.params.kind, req.params.id)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        const off = store.onChange((ch) => {
          if (ch.delta.kind === req.params.kind && ch.delta.id === req.params.id && ch.record) done();
        });
        function done() {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
    const r = store.get(req.params.kind, req.params.id);
    if (!r) return reply.status(404).send({ error: { code: "NOT_FOUND", message: `${req.params.kind} "${req.params.id}" not found` } });
    return r;
  });

  app.get<{ Params: { kind: string } }>("/mesh/records/:kind", async (req) => ({ records: store.list(req.params.kind) }));

  app.delete<{ Params: { id: string } }>("/mesh/nodes/:id", async (req) => {
    await deps.membership.remove(req.params.id);
    const adopted = (await deps.onNodeRemoved?.(req.params.id)) ?? 0; // its servers and volumes (node/orphans.ts)
    return { removed: req.params.id, adopted };
  });

  app.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", deps.registry.contentType);
    return deps.registry.metrics();
  });

  if (deps.debugRoutes) {
    // Publishes a hand-made envelope on a topic, e.g. deltas stamped by another node or a future version.
    app.post<{ Body: { topic: string; type: string; body: unknown; v?: string; from?: string } }>("/mesh/debug/publish", async (req) => {
      const b = req.body;
      await deps.transport.publish(b.topic, encode(b.type, b.from ?? deps.self, b.body, undefined, b.v));
      return { published: true };
    });
    // Sends a hand-made request on a direct protocol, e.g. an anti-entropy exchange carrying forged states.
    app.post<{ Body: { peer: string; protocol: string; type: string; body: unknown } }>("/mesh/debug/request", async (req) => {
      const b = req.body;
      const answer = decode(await deps.transport.request(b.peer, b.protocol, encode(b.type, deps.self, b.body)));
      return { type: answer.type, body: answer.body };
    });
    app.post<{ Body: { peers: string[] } }>("/mesh/debug/deny", async (req) => {
      await deps.deny?.(req.body.peers ?? []);
      return { denied: req.body.peers ?? [] };
    });
  }
  return app;
}
