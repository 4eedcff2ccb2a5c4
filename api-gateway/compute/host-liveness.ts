// Whether a mesh host looks alive from this node, for os-hypervisors and os-services: "down" once its
// capacity adverts (refreshed every few seconds) stopped for DOWN_AFTER_MS; this node is always up.
import type { GatewayContext } from "../context.ts";
import { serverBackend, type ServerBackend } from "./server-backend.ts";

/** Several missed advert refreshes (every 2 s) before a host shows "down", as Nova's service_down_time. */
export const DOWN_AFTER_MS = 15_000;

export function hostUp(ctx: GatewayContext, servers: ServerBackend | undefined, node: string): boolean {
  if (node === ctx.node.id) return true;
  const view = serverBackend(ctx.node.id, servers)?.capacity;
  if (!view?.ageMs) return true; // no capacity view (API-only tests): nothing says it is down
  const age = view.ageMs(node);
  return age !== undefined && age < DOWN_AFTER_MS;
}
