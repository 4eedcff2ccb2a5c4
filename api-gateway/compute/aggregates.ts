// Nova os-aggregates, read-only: in Nova an availability zone is an aggregate's metadata, so every AZ
// of the mesh other than the default "nova" is shown as one aggregate holding that AZ's hosts (from the
// node records). Creating or changing aggregates is not supported: a host's AZ is its agent's setting.
// `openstack hypervisor show` lists aggregates to name the host's, so this must answer.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ItemNotFoundError } from "../errors.ts";
import { hash32 } from "../../protocol/random.ts";
import { atLeast } from "./microversion.ts";

const DEFAULT_AZ = "nova";

export const aggregateRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  function aggregates(req: FastifyRequest): Record<string, unknown>[] {
    const byAz = new Map<string, string[]>();
    for (const n of ctx.store.list("node")) {
      const az = String(n.az ?? DEFAULT_AZ);
      if (az !== DEFAULT_AZ) byAz.set(az, [...(byAz.get(az) ?? []), String(n.name ?? n.id)]);
    }
    return [...byAz.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([az, hosts]) => ({
        id: hash32(`aggregate/${az}`) % 2 ** 31,
        name: az,
        availability_zone: az,
        hosts: hosts.sort(),
        metadata: { availability_zone: az },
        created_at: "2026-01-01T00:00:00.000000",
        updated_at: null,
        deleted: false,
        deleted_at: null,
        ...(atLeast(req, 41) ? { uuid: uuidOf(az) } : {}),
      }));
  }

  app.get("/os-aggregates", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-aggregates:index");
    return { aggregates: aggregates(req) };
  });

  app.get<{ Params: { id: string } }>("/os-aggregates/:id", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-aggregates:show");
    const a = aggregates(req).find((x) => String(x.id) === req.params.id || x.uuid === req.params.id);
    if (!a) throw new ItemNotFoundError("aggregate", req.params.id, `Aggregate ${req.params.id} could not be found.`);
    return { aggregate: a };
  });
};

/** A stable UUID-shaped id per AZ name (the aggregate has no record of its own). */
function uuidOf(az: string): string {
  const h = [0, 1, 2, 3].map((i) => hash32(`${i}/${az}`).toString(16).padStart(8, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
