// Nova /servers/{id}/metadata (the record's metadata.extra; the API owns the `metadata` field).
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireRole } from "../auth/policy.ts";
import { InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import { bodyObject } from "../identity/http.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { findServer, type ServerRouteOptions } from "./servers.ts";
import { SERVER } from "./server-view.ts";

const MAX_ITEMS = 128;

function items(v: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string" || k.length < 1 || k.length > 255 || x.length > 255) throw new InvalidRequestError(`Invalid input for field/attribute metadata. Value: ${k}`);
    out[k] = x;
  }
  return out;
}

export const serverMetadataRoutes: FastifyPluginAsync<ServerRouteOptions> = async (app, { ctx }) => {
  const extraOf = (s: CatalogRecord) => ({ ...((s.metadata as { extra?: Record<string, string> } | undefined)?.extra ?? {}) });
  const server = (req: FastifyRequest<{ Params: { id: string } }>, write: boolean) => {
    const a = requireAuth(req);
    const s = findServer(ctx, a, req.params.id);
    if (write) requireRole(a, "member", "os_compute_api:server-metadata:update");
    return s;
  };
  const save = async (s: CatalogRecord, extra: Record<string, string>) => {
    if (Object.keys(extra).length > MAX_ITEMS) return false;
    await ctx.store.put(SERVER, s.id, { metadata: { ...((s.metadata as object | undefined) ?? {}), extra }, updated_at: isoMicro(ctx.clock.now()) });
    return true;
  };
  const overLimit = { forbidden: { code: 403, message: "Quota exceeded for metadata_items: Requested 129, but already used 0 of 128 metadata_items" } };

  app.get<{ Params: { id: string } }>("/servers/:id/metadata", async (req) => ({ metadata: extraOf(server(req, false)) }));

  app.post<{ Params: { id: string } }>("/servers/:id/metadata", async (req, reply) => {
    const s = server(req, true);
    const extra = { ...extraOf(s), ...items(bodyObject(req, "metadata")) };
    if (!(await save(s, extra))) return reply.code(403).send(overLimit);
    return { metadata: extra };
  });

  app.put<{ Params: { id: string } }>("/servers/:id/metadata", async (req, reply) => {
    const s = server(req, true);
    const extra = items(bodyObject(req, "metadata"));
    if (!(await save(s, extra))) return reply.code(403).send(overLimit);
    return { metadata: extra };
  });

  app.get<{ Params: { id: string; key: string } }>("/servers/:id/metadata/:key", async (req) => {
    const extra = extraOf(server(req, false));
    if (!(req.params.key in extra)) throw new ItemNotFoundError("metadata", req.params.key, "Metadata item was not found");
    return { meta: { [req.params.key]: extra[req.params.key] } };
  });

  app.put<{ Params: { id: string; key: string } }>("/servers/:id/metadata/:key", async (req, reply) => {
    const s = server(req, true);
    const meta = items(bodyObject(req, "meta"));
    const keys = Object.keys(meta);
    if (keys.length !== 1 || keys[0] !== req.params.key) throw new InvalidRequestError("Request body and URI mismatch");
    const extra = { ...extraOf(s), ...meta };
    if (!(await save(s, extra))) return reply.code(403).send(overLimit);
    return { meta };
  });

  app.delete<{ Params: { id: string; key: string } }>("/servers/:id/metadata/:key", async (req, reply) => {
    const s = server(req, true);
    const extra = extraOf(s);
    if (!(req.params.key in extra)) throw new ItemNotFoundError("metadata", req.params.key, "Metadata item was not found");
    delete extra[req.params.key];
    await save(s, extra);
    return reply.code(204).send();
  });
};
