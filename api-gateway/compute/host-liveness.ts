// The mesh's hosts as the admin APIs list them (os-hypervisors, os-services, Neutron agents): their node
// records by name, and whether each looks alive from this node — "down" once its capacity adverts
// (refreshed every few seconds) stopped for DOWN_AFTER_MS; this node is always up.
import type { GatewayContext } from "../context.ts";
import type { CatalogRecord } from "../store.ts";
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

/** A host's name as the APIs show it: its node record's name, else its id. */
export function hostName(n: CatalogRecord): string {
  return String(n.name ?? n.id);
}

/** Every host of the mesh (its node records), by name. */
export function meshHosts(ctx: GatewayContext): CatalogRecord[] {
  return ctx.store.list("node").sort((a, b) => hostName(a).localeCompare(hostName(b)));
}
