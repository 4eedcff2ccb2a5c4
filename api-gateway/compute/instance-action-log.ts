// Writing the instance actions (api-gateway/compute/instance-actions.ts serves them): one record per
// action accepted on a server, removed with the server.
import type { FastifyReply } from "fastify";
import type { AuthContext } from "../auth/plugin.ts";
import type { GatewayContext } from "../context.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";

export const INSTANCE_ACTION = "instance_action";

/** The request id this API answers with (app.ts sets it on every reply). */
export function requestIdOf(reply: FastifyReply): string {
  return String(reply.getHeader("X-OpenStack-Request-Id") ?? "");
}

/** Records an action accepted on a server (not the create: that one is the server record). */
export async function recordAction(ctx: GatewayContext, reply: FastifyReply, a: AuthContext, s: CatalogRecord, action: string): Promise<void> {
  const requestId = requestIdOf(reply);
  await ctx.store.put(INSTANCE_ACTION, `${s.id}:${requestId}`, { server_id: s.id, action, request_id: requestId, user_id: a.user.id, project_id: a.project?.id ?? s.project_id, start_time: isoMicro(ctx.clock.now()) });
}

/** Drops a removed server's action records (called where the server record was removed). */
export async function forgetActions(ctx: GatewayContext, serverId: string): Promise<void> {
  for (const r of ctx.store.list(INSTANCE_ACTION, (x) => x.server_id === serverId)) await ctx.store.remove(INSTANCE_ACTION, r.id);
}

