// Read-only Keystone catalog admin views (services, endpoints, regions), synthesised from this
// node's catalog: there is no endpoint registry to edit, every node serves every service.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import type { GatewayContext } from "../context.ts";
import { ItemNotFoundError } from "../errors.ts";
import { serviceCatalog } from "./catalog.ts";
import { listLinks, query } from "./http.ts";

export const endpointRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: FastifyRequest) => `${ctx.baseUrl(req)}/identity`;
  const catalog = (req: FastifyRequest) => serviceCatalog(ctx.node.id, ctx.baseUrl(req), ctx.region);
  const services = (req: FastifyRequest) =>
    catalog(req).map((s) => ({ id: s.id, type: s.type, name: s.name, enabled: true, description: "", links: { self: `${base(req)}/v3/services/${s.id}` } }));
  const endpoints = (req: FastifyRequest) =>
    catalog(req).flatMap((s) =>
      s.endpoints.map((e) => ({ id: e.id, interface: e.interface, region: e.region, region_id: e.region_id, url: e.url, service_id: s.id, enabled: true, links: { self: `${base(req)}/v3/endpoints/${e.id}` } })),
    );

  app.get("/services", async (req) => {
    requireAuth(req);
    const q = query(req);
    // `openstack endpoint list --service compute` finds the service by ?name=, then ?type=.
    return { services: services(req).filter((s) => (q.type === undefined || s.type === q.type) && (q.name === undefined || s.name === q.name)), links: listLinks(base(req), "services") };
  });
  app.get<{ Params: { id: string } }>("/services/:id", async (req) => {
    requireAuth(req);
    const s = services(req).find((x) => x.id === req.params.id);
    if (!s) throw new ItemNotFoundError("service", req.params.id);
    return { service: s };
  });
  app.get("/endpoints", async (req) => {
    requireAuth(req);
    const q = query(req);
    const list = endpoints(req).filter((e) => (q.service_id === undefined || e.service_id === q.service_id) && (q.interface === undefined || e.interface === q.interface) && (q.region_id === undefined || e.region_id === q.region_id));
    return { endpoints: list, links: listLinks(base(req), "endpoints") };
  });
  app.get<{ Params: { id: string } }>("/endpoints/:id", async (req) => {
    requireAuth(req);
    const e = endpoints(req).find((x) => x.id === req.params.id);
    if (!e) throw new ItemNotFoundError("endpoint", req.params.id);
    return { endpoint: e };
  });
  const region = (req: FastifyRequest) => ({ id: ctx.region, description: "", parent_region_id: null, links: { self: `${base(req)}/v3/regions/${ctx.region}` } });
  app.get("/regions", async (req) => {
    requireAuth(req);
    return { regions: [region(req)], links: listLinks(base(req), "regions") };
  });
  app.get<{ Params: { id: string } }>("/regions/:id", async (req) => {
    requireAuth(req);
    if (req.params.id !== ctx.region) throw new ItemNotFoundError("region", req.params.id);
    return { region: region(req) };
  });
};
