// The OpenStack-compatible API: one fastify plugin per service under devstack's path prefixes
// (/identity, /compute, /image, /volume, /networking), auth shared through a fastify-plugin hook.
// `openstackApi` mounts into an existing fastify app; `buildApp` makes a stand-alone one.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { Clock } from "../protocol/clock.ts";
import type { Random } from "../protocol/random.ts";
import { systemClock, systemRandom } from "../node/runtime/system.ts";
import { auth } from "./auth/plugin.ts";
import { TokenService, type NodeKey } from "./auth/tokens.ts";
import { compute } from "./compute/plugin.ts";
import type { ComputeQuotas } from "./compute/limits.ts";
import { baseUrlFor, type GatewayContext, type NodeInfo } from "./context.ts";
import { useErrorStyle } from "./error-bodies.ts";
import { InvalidRequestError } from "./errors.ts";
import { identity } from "./identity/plugin.ts";
import { IdentityCatalog } from "./identity/model.ts";
import { DEFAULT_COST, type ScryptCost } from "./identity/passwords.ts";
import { networking } from "./networking/plugin.ts";
import { openApiDocument, RouteRegistry } from "./openapi.ts";
import { imageStub, volumeStub, type ServicePlugin } from "./service-stubs.ts";
import type { GatewayStore } from "./store.ts";
import { rootDocument } from "./versions.ts";
import { ackingStore, useWriteTracking, type Replicate } from "./write-acks.ts";

export interface GatewayOptions {
  store: GatewayStore;
  /** This node's id and Ed25519 key: it signs the tokens this node issues. */
  nodeKey: NodeKey;
  nodeInfo: NodeInfo;
  clock?: Clock;
  random?: Random;
  tokenTtlSec?: number;
  passwordCost?: ScryptCost;
  /** node/quota's view; default: Nova's default limits (a stub, see compute/limits.ts). */
  computeQuotas?: ComputeQuotas;
  /** Peer acknowledgement of each write (node/mesh/acks.ts `replicate`); without it writes are local only. */
  replicate?: Replicate;
  /** Real image/volume/network plugins replacing the version-only stubs. */
  services?: { image?: ServicePlugin; volume?: ServicePlugin; network?: ServicePlugin };
}

export interface BuildOptions extends GatewayOptions {
  logger?: FastifyBaseLogger;
  bodyLimit?: number;
}

declare module "fastify" {
  interface FastifyInstance {
    gateway: GatewayContext;
    /** Every route of the API (method, full path, public?), as registered; the OpenAPI document's source. */
    apiRoutes: RouteRegistry;
  }
}

export function gatewayContext(o: GatewayOptions): GatewayContext {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? systemRandom;
  const store = o.replicate ? ackingStore(o.store, o.replicate) : o.store;
  return {
    store,
    clock,
    random,
    tokens: new TokenService({ node: o.nodeKey, ttlSec: o.tokenTtlSec }, { store, clock, random }),
    identity: new IdentityCatalog(store),
    node: o.nodeInfo,
    region: o.nodeInfo.region ?? "RegionOne",
    passwordCost: o.passwordCost ?? DEFAULT_COST,
    baseUrl: baseUrlFor(o.nodeInfo),
  };
}

// Everything inside one encapsulated context, so the auth hook and JSON parser stay off the host's routes.
const services: FastifyPluginAsync<GatewayOptions & { ctx: GatewayContext; registry: RouteRegistry }> = async (app, opts) => {
  const { ctx, registry } = opts;
  app.addHook("onRoute", registry.onRoute);
  // OpenStack clients send Content-Type: application/json on some bodiless requests.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    if (body === "") return done(null, undefined);
    try {
      parseJson(req, body as string, done);
    } catch {
      done(new InvalidRequestError("Malformed JSON in request body."), undefined);
    }
  });
  useWriteTracking(app);
  // Every OpenStack service answers with a request id clients log (and Nova with its own name for it).
  app.addHook("onRequest", async (req, reply) => {
    const id = `req-${ctx.random.uuid()}`;
    // The id clients see goes into every log line of the request, next to fastify's reqId.
    req.log = req.log.child({ requestId: id });
    reply.header("X-OpenStack-Request-Id", id);
    if (req.url.startsWith("/compute")) reply.header("X-Compute-Request-Id", id);
  });
  await app.register(auth, { ctx });
  await app.register(async (root) => {
    useErrorStyle(root, "keystone", (req) => `${ctx.baseUrl(req)}/identity`, { notFound: false });
    root.get("/", { config: { public: true } }, async (req, reply) => {
      reply.code(300);
      return rootDocument(ctx.baseUrl(req));
    });
    root.get("/openapi.json", { config: { public: true } }, async (req) => openApiDocument(registry.routes, ctx.baseUrl(req), "2.1"));
  });
  await app.register(identity, { ctx, prefix: "/identity" });
  await app.register(compute, { ctx, quotas: opts.computeQuotas, prefix: "/compute" });
  await app.register(opts.services?.image ?? imageStub, { ctx, prefix: "/image" });
  await app.register(opts.services?.volume ?? volumeStub, { ctx, prefix: "/volume" });
  await app.register(opts.services?.network ?? networking(), { ctx, prefix: "/networking" });
};

const api: FastifyPluginAsync<GatewayOptions> = async (app, opts) => {
  const ctx = gatewayContext(opts);
  const registry = new RouteRegistry();
  app.decorate("gateway", ctx);
  app.decorate("apiRoutes", registry);
  await app.register(services, { ...opts, ctx, registry });
};

/** The whole API as one plugin (not encapsulated, so `app.gateway` is visible to the host app). */
export const openstackApi = fp(api, { name: "peerstack-openstack-api", fastify: "5.x" });

export async function buildApp(opts: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 },
  }) as unknown as FastifyInstance;
  useErrorStyle(app, "keystone");
  await app.register(openstackApi, opts);
  return app;
}
