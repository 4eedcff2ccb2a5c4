// Keystone v3 projects and domains (only "default" exists).
import type { FastifyPluginAsync } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { bodyObject, listLinks, optBool, optName, optString, query, queryBool, requiredName } from "./http.ts";
import { newTokenEpoch } from "./token-epoch.ts";
import { ASSIGNMENT, DEFAULT_DOMAIN, DEFAULT_DOMAIN_ID, domainView, hexId, isoMicro, PROJECT, projectView } from "./model.ts";

function checkDomain(id: string | undefined): string {
  const d = id ?? DEFAULT_DOMAIN_ID;
  if (d !== DEFAULT_DOMAIN_ID) throw new ItemNotFoundError("domain", d);
  return d;
}

export const projectRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  const base = (req: Parameters<GatewayContext["baseUrl"]>[0]) => `${ctx.baseUrl(req)}/identity`;
  const find = (id: string): CatalogRecord => {
    const p = ctx.identity.project(id);
    if (!p) throw new ItemNotFoundError("project", id);
    return p;
  };

  app.get("/domains", async (req) => {
    requireAuth(req);
    const q = query(req);
    const match = (q.name === undefined || q.name === DEFAULT_DOMAIN.name) && (q.enabled === undefined || queryBool(q.enabled) === true);
    return { domains: match ? [domainView(base(req))] : [], links: listLinks(base(req), "domains") };
  });

  app.get<{ Params: { id: string } }>("/domains/:id", async (req) => {
    requireAuth(req);
    checkDomain(req.params.id);
    return { domain: domainView(base(req)) };
  });

  app.post("/projects", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:create_project");
    const p = bodyObject(req, "project");
    const name = requiredName(p, "project");
    const domainId = checkDomain(optString(p, "domain_id", 64));
    if (optBool(p, "is_domain")) throw new InvalidRequestError("projects acting as domains are not supported");
    ctx.identity.refuseTakenName(PROJECT, name, domainId);
    const id = hexId(ctx.random.uuid());
    const tags = Array.isArray(p.tags) ? p.tags.map(String) : [];
    await ctx.store.put(PROJECT, id, {
      name,
      domain_id: domainId,
      description: optString(p, "description", 65535) ?? "",
      enabled: optBool(p, "enabled") ?? true,
      tags,
      created_at: isoMicro(ctx.clock.now()),
    });
    reply.code(201);
    return { project: projectView(find(id), base(req)) };
  });

  app.get("/projects", async (req) => {
    requireAdmin(requireAuth(req), "identity:list_projects");
    const q = query(req);
    const enabled = queryBool(q.enabled);
    const projects = ctx.store.list(PROJECT, (p) => (q.name === undefined || p.name === q.name) && (q.domain_id === undefined || (p.domain_id ?? DEFAULT_DOMAIN_ID) === q.domain_id) && (enabled === undefined || (p.enabled !== false) === enabled));
    return { projects: projects.map((p) => projectView(p, base(req))), links: listLinks(base(req), "projects") };
  });

  app.get<{ Params: { id: string } }>("/projects/:id", async (req) => {
    const a = requireAuth(req);
    const p = find(req.params.id);
    if (!isAdmin(a) && a.project?.id !== p.id) throw new PolicyForbiddenError("identity:get_project");
    return { project: projectView(p, base(req)) };
  });

  app.patch<{ Params: { id: string } }>("/projects/:id", async (req) => {
    requireAdmin(requireAuth(req), "identity:update_project");
    const current = find(req.params.id);
    const p = bodyObject(req, "project");
    const fields: Record<string, unknown> = {};
    const name = optName(p, "project");
    if (name !== undefined) {
      ctx.identity.refuseTakenName(PROJECT, name, String(current.domain_id ?? DEFAULT_DOMAIN_ID), current.id);
      fields.name = name;
    }
    const description = optString(p, "description", 65535);
    if (description !== undefined) fields.description = description;
    const enabled = optBool(p, "enabled");
    if (enabled !== undefined) fields.enabled = enabled;
    // Disabling ends the project's tokens for good: enabling it again does not bring them back.
    if (enabled === false) Object.assign(fields, newTokenEpoch(ctx.random));
    if (Array.isArray(p.tags)) fields.tags = p.tags.map(String);
    if (Object.keys(fields).length > 0) await ctx.store.put(PROJECT, req.params.id, fields);
    return { project: projectView(find(req.params.id), base(req)) };
  });

  app.delete<{ Params: { id: string } }>("/projects/:id", async (req, reply) => {
    requireAdmin(requireAuth(req), "identity:delete_project");
    find(req.params.id);
    for (const a of ctx.store.list(ASSIGNMENT, (r) => r.project === req.params.id)) await ctx.store.remove(ASSIGNMENT, a.id);
    await ctx.store.remove(PROJECT, req.params.id);
    return reply.code(204).send();
  });
};
