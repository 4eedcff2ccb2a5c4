// Nova os-simple-tenant-usage (`openstack usage list|show`, Horizon's overview): per project, hours of
// the servers over a period and their vCPU / RAM / disk hours. Peerstack keeps no history of deleted
// servers (their records are removed), so the figures cover the servers that exist now, each from its
// creation to the end of the period.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { canAccessProject, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, PolicyForbiddenError } from "../errors.ts";
import { query, queryBool } from "../identity/http.ts";
import { parseUtc } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { SERVER } from "./server-view.ts";

const HOUR_MS = 3_600_000;

/** Nova's time format: ISO 8601 without a zone means UTC. */
function parseTime(text: string | undefined, field: string, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const t = parseUtc(text);
  if (!Number.isFinite(t)) throw new InvalidRequestError(`Invalid input for field/attribute ${field}. Value: ${text}.`);
  return t;
}

/** Nova prints times as "2026-11-04T00:07:15.123456" (microseconds, no zone). */
const novaTime = (ms: number) => new Date(ms).toISOString().replace("Z", "000");

export const usageRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  function period(req: FastifyRequest): { start: number; end: number } {
    const q = query(req);
    const now = ctx.clock.now();
    const start = parseTime(q.start, "start", now - 28 * 24 * HOUR_MS);
    const end = parseTime(q.end, "end", now);
    if (start > end) throw new InvalidRequestError("Invalid start time. The start time cannot occur after the end time.");
    return { start, end };
  }

  function serverUsage(s: CatalogRecord, start: number, end: number, now: number) {
    const created = Date.parse(String(s.created_at ?? ""));
    const from = Math.max(start, Number.isFinite(created) ? created : start);
    const to = Math.min(end, now);
    const hours = to > from ? (to - from) / HOUR_MS : 0;
    return {
      instance_id: s.id,
      name: String(s.name ?? ""),
      tenant_id: String(s.project_id),
      flavor: String(s.flavor_name ?? s.flavor_id ?? ""),
      vcpus: Number(s.vcpus) || 0,
      memory_mb: Number(s.ram) || 0,
      local_gb: Number(s.disk) || 0,
      hours,
      started_at: Number.isFinite(created) ? novaTime(created) : null,
      ended_at: null,
      state: typeof s.vm_state === "string" ? s.vm_state : "building",
      uptime: Math.max(0, Math.floor((now - (Number.isFinite(created) ? created : now)) / 1000)),
    };
  }

  function tenantUsage(project: string, servers: CatalogRecord[], p: { start: number; end: number }, detailed: boolean) {
    const now = ctx.clock.now();
    const rows = servers.map((s) => serverUsage(s, p.start, p.end, now)).filter((u) => u.hours > 0);
    const sum = (f: (u: (typeof rows)[number]) => number) => rows.reduce((a, u) => a + f(u), 0);
    return {
      tenant_id: project,
      total_hours: sum((u) => u.hours),
      total_vcpus_usage: sum((u) => u.vcpus * u.hours),
      total_memory_mb_usage: sum((u) => u.memory_mb * u.hours),
      total_local_gb_usage: sum((u) => u.local_gb * u.hours),
      start: novaTime(p.start),
      stop: novaTime(p.end),
      ...(detailed ? { server_usages: rows } : {}),
    };
  }

  app.get("/os-simple-tenant-usage", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-simple-tenant-usage:list");
    const p = period(req);
    const byProject = new Map<string, CatalogRecord[]>();
    for (const s of ctx.store.list(SERVER)) byProject.set(String(s.project_id), [...(byProject.get(String(s.project_id)) ?? []), s]);
    const detailed = queryBool(query(req).detailed) ?? false;
    const usages = [...byProject.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([project, list]) => tenantUsage(project, list, p, detailed));
    return { tenant_usages: usages.filter((u) => u.total_hours > 0) };
  });

  app.get<{ Params: { project: string } }>("/os-simple-tenant-usage/:project", async (req) => {
    const a = requireAuth(req);
    if (!canAccessProject(a, req.params.project)) throw new PolicyForbiddenError("os_compute_api:os-simple-tenant-usage:show");
    const p = period(req);
    const u = tenantUsage(req.params.project, ctx.store.list(SERVER, (s) => s.project_id === req.params.project), p, true);
    // Nova answers an empty object for a project without usage in the period.
    return { tenant_usage: u.total_hours > 0 ? u : {} };
  });
};
