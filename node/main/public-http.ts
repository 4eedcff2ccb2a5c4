// The public listener: the OpenStack API (mounted by node/main/api-wiring.ts), /healthz and the static
// web dashboard under /dashboard (a client of that API), nothing else. Native routes live on the operator listener (node/main/operator-http.ts): a raw record write
// here would let anyone who reaches the API port make themselves admin (issue #13).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { useErrorStyle } from "../../api-gateway/error-bodies.ts";
import { serveDashboard } from "./dashboard-files.ts";

/** `log`: where the API logs each 5xx with its request id (fastify's per-request child logger). */
export function buildPublicHttp(health: () => { node: string; name: string; peers: number }, log?: FastifyBaseLogger): FastifyInstance {
  // Router options as api-gateway/app.ts buildApp sets them (OpenStack clients add trailing slashes).
  // Per-request lines off (the API logs its own 4xx at info and every 5xx at error, with reqId).
  const app = Fastify({ ...(log ? { loggerInstance: log, disableRequestLogging: true } : { logger: false }), bodyLimit: 64 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 } });
  // Unknown paths (the native ones included) answer 404 in the API's own error body.
  useErrorStyle(app as unknown as FastifyInstance, "keystone");
  app.get("/healthz", async () => ({ ok: true, ...health() }));
  serveDashboard(app as unknown as FastifyInstance);
  return app as unknown as FastifyInstance;
}

/** `--metrics host:port`: /metrics alone, for a Prometheus scraper that should not reach the operator routes. */
export function buildMetricsHttp(metrics: { contentType: string; metrics(): Promise<string> }): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", metrics.contentType);
    return metrics.metrics();
  });
  return app as unknown as FastifyInstance;
}
