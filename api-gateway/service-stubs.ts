// Image, volume and network services until their engineers fill them in: version discovery and
// each service's error style. A real plugin replaces a stub through GatewayOptions.services.
import type { FastifyPluginAsync } from "fastify";
import type { GatewayContext } from "./context.ts";
import { useErrorStyle } from "./error-bodies.ts";
import { imageVersions, networkVersions, volumeVersion } from "./versions.ts";

export type ServicePlugin = FastifyPluginAsync<{ ctx: GatewayContext }>;

export const imageStub: ServicePlugin = async (app, { ctx }) => {
  useErrorStyle(app, "glance", (req) => `${ctx.baseUrl(req)}/identity`);
  app.get("/", { config: { public: true } }, async (req, reply) => {
    reply.code(300);
    return { versions: imageVersions(ctx.baseUrl(req)) };
  });
  app.get("/versions", { config: { public: true } }, async (req) => ({ versions: imageVersions(ctx.baseUrl(req)) }));
};

export const volumeStub: ServicePlugin = async (app, { ctx }) => {
  useErrorStyle(app, "cinder", (req) => `${ctx.baseUrl(req)}/identity`);
  app.get("/", { config: { public: true } }, async (req, reply) => {
    reply.code(300);
    return { versions: [volumeVersion(ctx.baseUrl(req))] };
  });
  await app.register(async (v3) => v3.get("/", { config: { public: true } }, async (req) => ({ versions: [volumeVersion(ctx.baseUrl(req))] })), { prefix: "/v3" });
};

export const networkStub: ServicePlugin = async (app, { ctx }) => {
  useErrorStyle(app, "neutron", (req) => `${ctx.baseUrl(req)}/identity`);
  app.get("/", { config: { public: true } }, async (req) => ({ versions: networkVersions(ctx.baseUrl(req)) }));
  await app.register(async (v2) => v2.get("/", { config: { public: true } }, async () => ({ resources: [] })), { prefix: "/v2.0" });
};
