// Glance image members: a "shared" image's owner adds projects; a member project accepts or rejects.
// Records: `image_member` id `<image>:<project>` {image_id, member_id, status, created_at, updated_at}.
import type { FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord, GatewayStore } from "../store.ts";
import type { ServicePlugin } from "../service-stubs.ts";

export const IMAGE_MEMBER = "image_member";

type App = Parameters<ServicePlugin>[0];

export function membership(store: GatewayStore, imageId: string, projectId: string | undefined): CatalogRecord | undefined {
  return projectId === undefined ? undefined : store.get(IMAGE_MEMBER, `${imageId}:${projectId}`);
}

function view(m: CatalogRecord): Record<string, unknown> {
  return { created_at: m.created_at, image_id: m.image_id, member_id: m.member_id, schema: "/v2/schemas/member", status: m.status, updated_at: m.updated_at };
}

export async function removeMembers(store: GatewayStore, imageId: string): Promise<void> {
  for (const m of store.list(IMAGE_MEMBER, (x) => x.image_id === imageId)) await store.remove(IMAGE_MEMBER, m.id);
}

export function memberRoutes(app: App, ctx: GatewayContext, find: (req: FastifyRequest, id: string) => CatalogRecord, now: () => string): void {
  const owned = (req: FastifyRequest, id: string): CatalogRecord => {
    const r = find(req, id);
    const a = requireAuth(req);
    if (!isAdmin(a) && a.project?.id !== r.owner) throw new PolicyForbiddenError("add_member");
    if (r.visibility !== "shared") throw new PolicyForbiddenError(`add_member: only shared images have members (image ${id} is ${String(r.visibility)})`);
    return r;
  };
  const member = (imageId: string, memberId: string): CatalogRecord => {
    const m = ctx.store.get(IMAGE_MEMBER, `${imageId}:${memberId}`);
    if (!m) throw new ItemNotFoundError("member", memberId, `${memberId} is not a member of image ${imageId}`);
    return m;
  };

  app.post<{ Params: { id: string } }>("/images/:id/members", async (req) => {
    const r = owned(req, req.params.id);
    const body = req.body as { member?: unknown } | undefined;
    const memberId = body?.member;
    if (typeof memberId !== "string" || memberId === "") throw new InvalidRequestError("Member to be added not specified");
    if (ctx.store.get(IMAGE_MEMBER, `${r.id}:${memberId}`)) throw new ConflictError(`Member ${memberId} already exists for image ${r.id}`);
    const t = now();
    await ctx.store.put(IMAGE_MEMBER, `${r.id}:${memberId}`, { image_id: r.id, member_id: memberId, status: "pending", created_at: t, updated_at: t });
    return view(member(r.id, memberId));
  });

  app.get<{ Params: { id: string } }>("/images/:id/members", async (req) => {
    const r = find(req, req.params.id);
    const a = requireAuth(req);
    const all = ctx.store.list(IMAGE_MEMBER, (m) => m.image_id === r.id);
    const mine = isAdmin(a) || a.project?.id === r.owner ? all : all.filter((m) => m.member_id === a.project?.id);
    return { members: mine.map(view), schema: "/v2/schemas/members" };
  });

  app.get<{ Params: { id: string; member: string } }>("/images/:id/members/:member", async (req) => {
    const r = find(req, req.params.id);
    const a = requireAuth(req);
    if (!isAdmin(a) && a.project?.id !== r.owner && a.project?.id !== req.params.member) throw new ItemNotFoundError("member", req.params.member);
    return view(member(r.id, req.params.member));
  });

  app.put<{ Params: { id: string; member: string } }>("/images/:id/members/:member", async (req) => {
    const r = find(req, req.params.id);
    const a = requireAuth(req);
    const m = member(r.id, req.params.member);
    if (!isAdmin(a) && a.project?.id !== req.params.member) throw new PolicyForbiddenError("modify_member");
    const status = (req.body as { status?: unknown } | undefined)?.status;
    if (status !== "accepted" && status !== "rejected" && status !== "pending") throw new InvalidRequestError(`Invalid status: ${String(status)}`);
    await ctx.store.put(IMAGE_MEMBER, m.id, { status, updated_at: now() });
    return view(member(r.id, req.params.member));
  });

  app.delete<{ Params: { id: string; member: string } }>("/images/:id/members/:member", async (req, reply) => {
    const r = owned(req, req.params.id);
    const m = member(r.id, req.params.member);
    await ctx.store.remove(IMAGE_MEMBER, m.id);
    reply.code(204);
  });
}
