// Nova os-instance-actions (`openstack server event list|show`): what was asked of a server, by whom,
// under which request id. The create is read from the server record itself (written with the BUILD
// record, no extra write per create); later actions each write an instance_action record, removed with
// the server. Events (admins only, as Nova's default policy) say how the create went.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ItemNotFoundError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { atLeast } from "./microversion.ts";
import { findServer } from "./servers.ts";
import { INSTANCE_ACTION } from "./instance-action-log.ts";

type Action = { action: string; instance_uuid: string; request_id: string; user_id: string; project_id: string; start_time: string; message: string | null; updated_at?: string; events?: unknown[] };

export const instanceActionRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  function actions(req: FastifyRequest, s: CatalogRecord): Action[] {
    const create: Action = { action: "create", instance_uuid: s.id, request_id: String(s.request_id ?? ""), user_id: String(s.user_id ?? ""), project_id: String(s.project_id), start_time: String(s.created_at ?? ""), message: s.status === "ERROR" ? "Error" : null };
    const later = ctx.store.list(INSTANCE_ACTION, (r) => r.server_id === s.id).map(
      (r): Action => ({ action: String(r.action), instance_uuid: s.id, request_id: String(r.request_id), user_id: String(r.user_id), project_id: String(r.project_id), start_time: String(r.start_time), message: null }),
    );
    // Newest first, as Nova lists them.
    const all = [create, ...later].sort((x, y) => y.start_time.localeCompare(x.start_time));
    return atLeast(req, 58) ? all.map((x) => ({ ...x, updated_at: x.start_time })) : all;
  }

  /** How the create went: placement and boot in one event, its result from the server's state. */
  function createEvents(s: CatalogRecord): unknown[] {
    const result = s.status === "ERROR" ? "Error" : s.status === "BUILD" ? null : "Success";
    const fault = s.fault as { message?: string } | undefined;
    return [{ event: "compute__do_build_and_run_instance", start_time: String(s.created_at ?? ""), finish_time: result ? String(s.launched_at ?? s.updated_at ?? "") : null, result, traceback: result === "Error" ? (fault?.message ?? null) : null, host: typeof s.host === "string" ? s.host : null }];
  }

  app.get<{ Params: { id: string } }>("/servers/:id/os-instance-actions", async (req) => {
    const s = findServer(ctx, requireAuth(req), req.params.id);
    return { instanceActions: actions(req, s) };
  });

  app.get<{ Params: { id: string; req: string } }>("/servers/:id/os-instance-actions/:req", async (req) => {
    const a = requireAuth(req);
    const s = findServer(ctx, a, req.params.id);
    const found = actions(req, s).find((x) => x.request_id === req.params.req);
    if (!found) throw new ItemNotFoundError("instance_action", req.params.req, `Action for request_id ${req.params.req} on instance ${s.id} not found`);
    const events = isAdmin(a) ? (found.action === "create" ? createEvents(s) : []) : undefined;
    return { instanceAction: events === undefined ? found : { ...found, events } };
  });
};
