// Glance v2 under /image: version discovery, images CRUD, JSON-patch update, data upload (streamed
// to the content-addressed blob store) and download (fetched from a holder peer when not local),
// the schema routes. Use as `services: { image: imageService({ blobs, fetcher }) }` in GatewayOptions.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { BlobStore } from "../../node/images/blob-store.ts";
import { IMAGE, removeHolders } from "../../node/images/records.ts";
import type { ImageSource } from "../../node/reconciler/types.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin, requireRole } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { useErrorStyle } from "../error-bodies.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import { query } from "../identity/http.ts";
import type { ServicePlugin } from "../service-stubs.ts";
import type { CatalogRecord, GatewayStore } from "../store.ts";
import { memberRoutes, membership, removeMembers } from "./members.ts";
import { imageVersions } from "../versions.ts";
import { applyPatch, imageView, isoSec, setAttribute } from "./model.ts";
import { takeImageQuota, type ImageQuota } from "./quota.ts";
import { imageSchema, imagesSchema } from "./schemas.ts";
import { uploadImage, type ImageInspector } from "./upload.ts";

export interface ImageServiceInit {
  blobs: BlobStore;
  /** Gets the bits of an image held elsewhere (node/images/fetcher.ts). */
  fetcher?: ImageSource;
  /** Largest upload accepted (413 beyond). Default 64 GiB. */
  maxImageBytes?: number;
  /** Checks uploaded bits before the image goes active (the agent always wires one; see upload.ts). */
  inspect?: ImageInspector;
  /** image_count_total / image_size_total escrow (absent: no image quota, gateway tests). */
  quota?: ImageQuota;
}

const PATCH_TYPE = "application/openstack-images-v2.1-json-patch";
// Glance takes the draft-10 patch type too; Tempest's images client sends it
const PATCH_TYPES = [PATCH_TYPE, "application/openstack-images-v2.0-json-patch"];

/** May the caller see this image? Public/community to all, shared to members, others to the owner's project (admins: all). */
export function canSee(store: GatewayStore, auth: AuthContext, r: CatalogRecord): boolean {
  if (r.visibility === "public" || r.visibility === "community" || isAdmin(auth) || auth.project?.id === r.owner) return true;
  return r.visibility === "shared" && membership(store, r.id, auth.project?.id) !== undefined;
}

function canModify(auth: AuthContext, r: CatalogRecord): boolean {
  return isAdmin(auth) || auth.project?.id === r.owner;
}

export function imageService(init: ImageServiceInit): ServicePlugin {
  const maxBytes = init.maxImageBytes ?? 64 * 1024 ** 3;
  return async (app, { ctx }) => {
    useErrorStyle(app, "glance", (req) => `${ctx.baseUrl(req)}/identity`);
    app.addContentTypeParser(PATCH_TYPES, { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new InvalidRequestError("Malformed JSON in request body."), undefined);
      }
    });
    // Image data stays a stream: the upload route writes it to disk as it arrives.
    app.addContentTypeParser("application/octet-stream", (_req, payload, done) => done(null, payload));
    app.get("/", { config: { public: true } }, async (req, reply) => {
      reply.code(300);
      return { versions: imageVersions(ctx.baseUrl(req)) };
    });
    app.get("/versions", { config: { public: true } }, async (req) => ({ versions: imageVersions(ctx.baseUrl(req)) }));
    await app.register(async (v2) => v2Routes(v2, ctx, init, maxBytes), { prefix: "/v2" });
  };
}

type App = Parameters<ServicePlugin>[0];

async function v2Routes(app: App, ctx: GatewayContext, init: ImageServiceInit, maxBytes: number): Promise<void> {
  const now = () => isoSec(ctx.clock.now());
  const find = (req: FastifyRequest, id: string): CatalogRecord => {
    const r = ctx.store.get(IMAGE, id);
    if (!r || !canSee(ctx.store, requireAuth(req), r)) throw new ItemNotFoundError("image", id, `No image found with ID ${id}`);
    return r;
  };
  const findOwn = (req: FastifyRequest, id: string, action: string): CatalogRecord => {
    const r = find(req, id);
    if (!canModify(requireAuth(req), r)) throw new PolicyForbiddenError(action);
    return r;
  };

  memberRoutes(app, ctx, find, now);
  app.get("/schemas/image", async () => imageSchema());
  app.get("/schemas/images", async () => imagesSchema());

  app.post("/images", async (req, reply) => {
    const a = requireAuth(req);
    const project = requireRole(a, "member", "add_image");
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new InvalidRequestError("Request body must be a JSON object.");
    const fields: Record<string, unknown> = { status: "queued", visibility: "shared", protected: false, os_hidden: false, min_ram: 0, min_disk: 0, tags: [], name: null, disk_format: null, container_format: null };
    const props: Record<string, string> = {};
    let id = ctx.random.uuid();
    for (const [k, v] of Object.entries(body)) {
      if (k === "id") {
        if (typeof v !== "string" || !/^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(v)) throw new InvalidRequestError(`Invalid value for id: ${String(v)}`);
        if (ctx.store.get(IMAGE, v)) throw new ConflictError(`An image with identifier ${v} already exists`);
        id = v;
      } else if (k === "owner") {
        if (!isAdmin(a)) throw new PolicyForbiddenError("modify owner");
        fields.owner = v;
      } else if (k === "properties" && v && typeof v === "object") {
        for (const [pk, pv] of Object.entries(v as Record<string, unknown>)) setAttribute(fields, props, pk, pv, isAdmin(a));
      } else {
        setAttribute(fields, props, k, v, isAdmin(a));
      }
    }
    const owner = typeof fields.owner === "string" ? fields.owner : project;
    // quota_node: the node that took the count, which returns it when the image is deleted anywhere.
    if (init.quota) await takeImageQuota(init.quota, owner, { image_count_total: 1 });
    const t = now();
    await ctx.store.put(IMAGE, id, { owner: project, ...fields, properties: props, created_at: t, updated_at: t, ...(init.quota ? { quota_node: ctx.node.id } : {}) }).catch(async (err: unknown) => {
      await init.quota?.release(owner, { image_count_total: 1 });
      throw err;
    });
    reply.code(201).header("Location", `${ctx.baseUrl(req)}/image/v2/images/${id}`);
    return imageView(ctx.store.get(IMAGE, id)!);
  });

  app.get("/images", async (req) => {
    const a = requireAuth(req);
    const q = query(req);
    const limit = q.limit === undefined ? 25 : Number(q.limit);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidRequestError("limit param must be an integer");
    const sortKey = q.sort_key ?? "created_at";
    const dir = (q.sort_dir ?? "desc") === "asc" ? 1 : -1;
    let images = ctx.store.list(IMAGE, (r) => {
      if (!canSee(ctx.store, a, r)) return false;
      // Shared images of other projects are listed once accepted (member_status=all|pending|rejected to see others).
      if (r.visibility === "shared" && !isAdmin(a) && r.owner !== a.project?.id) {
        const st = membership(ctx.store, r.id, a.project?.id)?.status;
        if ((q.member_status ?? "accepted") !== "all" && st !== (q.member_status ?? "accepted")) return false;
      }
      if (q.visibility === undefined) {
        if (r.visibility === "community" && r.owner !== a.project?.id) return false;
      } else if (q.visibility !== "all" && r.visibility !== q.visibility) return false;
      if (q.name !== undefined && r.name !== q.name) return false;
      if (q.status !== undefined && r.status !== q.status) return false;
      if (q.owner !== undefined && r.owner !== q.owner) return false;
      if (q.disk_format !== undefined && r.disk_format !== q.disk_format) return false;
      if (q.tag !== undefined && !((r.tags as string[]) ?? []).includes(q.tag)) return false;
      if (q.os_hidden !== "true" && r.os_hidden === true) return false;
      return true;
    });
    images.sort((x, y) => {
      const c = String(x[sortKey] ?? "").localeCompare(String(y[sortKey] ?? "")) || x.id.localeCompare(y.id);
      return c * dir;
    });
    if (q.marker !== undefined) {
      const i = images.findIndex((r) => r.id === q.marker);
      if (i < 0) throw new ItemNotFoundError("image", q.marker, `Provided marker ${q.marker} could not be found.`);
      images = images.slice(i + 1);
    }
    const page = images.slice(0, limit);
    const out: Record<string, unknown> = { images: page.map(imageView), first: "/v2/images", schema: "/v2/schemas/images" };
    if (images.length > limit && page.length > 0) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== "marker") params.set(k, v);
      params.set("marker", page[page.length - 1].id);
      params.set("limit", String(limit));
      out.next = `/v2/images?${params.toString()}`;
    }
    return out;
  });

  app.get<{ Params: { id: string } }>("/images/:id", async (req) => imageView(find(req, req.params.id)));

  app.patch<{ Params: { id: string } }>("/images/:id", async (req, reply) => {
    const ct = String(req.headers["content-type"] ?? "").split(";")[0].trim();
    if (!PATCH_TYPES.includes(ct)) {
      reply.code(415).header("Accept-Patch", PATCH_TYPE);
      throw Object.assign(new Error(`Unsupported Content-Type, use ${PATCH_TYPE}`), { statusCode: 415 });
    }
    const r = findOwn(req, req.params.id, "modify_image");
    const fields = applyPatch(r, req.body, isAdmin(requireAuth(req)));
    await ctx.store.put(IMAGE, r.id, { ...fields, updated_at: now() });
    return imageView(ctx.store.get(IMAGE, r.id)!);
  });

  app.delete<{ Params: { id: string } }>("/images/:id", async (req, reply) => {
    const r = findOwn(req, req.params.id, "delete_image");
    if (r.protected === true) throw new PolicyForbiddenError(`delete protected image ${r.id}`);
    await ctx.store.remove(IMAGE, r.id);
    await removeHolders(ctx.store, r.id);
    await removeMembers(ctx.store, r.id);
    const sha = r.sha256;
    if (typeof sha === "string" && ctx.store.list(IMAGE, (x) => x.sha256 === sha).length === 0) await init.blobs.remove(sha);
    reply.code(204);
  });

  app.put<{ Params: { id: string } }>("/images/:id/file", async (req, reply) => {
    await uploadImage({ ctx, blobs: init.blobs, maxBytes, now, ...(init.inspect ? { inspect: init.inspect } : {}), ...(init.quota ? { quota: init.quota } : {}) }, req, findOwn(req, req.params.id, "upload_image"));
    reply.code(204);
  });

  app.get<{ Params: { id: string } }>("/images/:id/file", async (req, reply: FastifyReply) => {
    const r = find(req, req.params.id);
    if (r.status !== "active" || typeof r.sha256 !== "string") {
      reply.code(204);
      return;
    }
    if (await init.blobs.has(r.sha256)) {
      // held here
    } else if (init.fetcher) {
      try {
        await init.fetcher.localPath(r.id);
      } catch (err) {
        req.log.warn({ image: r.id, err: (err as Error).message }, "image data unavailable");
        throw Object.assign(new Error(`Image ${r.id} data could not be fetched from any holder`), { statusCode: 503 });
      }
    }
    else throw new ItemNotFoundError("image data", r.id, `Image ${r.id} has no data on this node`);
    reply.header("Content-Type", "application/octet-stream");
    reply.header("Content-MD5", String(r.checksum));
    reply.header("Content-Length", String(r.size));
    return reply.send(init.blobs.read(r.sha256));
  });
}
