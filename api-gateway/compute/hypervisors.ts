// Nova os-hypervisors (admin): one hypervisor per node record; totals/usage from the node's capacity view
// (latest advert per host) when the backend has one, else usage summed from the server records it owns.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ItemNotFoundError, NotImplementedError } from "../errors.ts";
import { query } from "../identity/http.ts";
import type { CatalogRecord } from "../store.ts";
import { hash32 } from "../../protocol/random.ts";
import { atLeast } from "./microversion.ts";
import { serverBackend, type ServerBackend } from "./server-backend.ts";
import { hostUp, meshHosts } from "./host-liveness.ts";
import { COMPUTE_SERVICE } from "../../protocol/records.ts";

export const hypervisorRoutes: FastifyPluginAsync<{ ctx: GatewayContext; servers?: ServerBackend }> = async (app, { ctx, servers }) => {
  const idOf = (req: FastifyRequest, n: CatalogRecord) => (atLeast(req, 53) ? n.id : hash32(n.id));
  const nodes = () => meshHosts(ctx);

  function figures(n: CatalogRecord) {
    const view = serverBackend(ctx.node.id, servers)?.capacity;
    const state = view?.get(n.id)?.state;
    const owned = ctx.store.list("server", (s) => s.host === n.id);
    const sum = (f: string) => owned.reduce((t, s) => t + (Number(s[f]) || 0), 0);
    const total = state?.total ?? { vcpus: Number(n.vcpus ?? 0) || 0, ramMb: Number(n.ram_mb ?? 0) || 0, diskGb: Number(n.disk_gb ?? 0) || 0 };
    const used = state?.used ?? { vcpus: sum("vcpus"), ramMb: sum("ram"), diskGb: sum("disk") };
    // An operator's `compute service set --disable` shows at once; the host's adverts follow.
    const service = ctx.store.get(COMPUTE_SERVICE, n.id);
    const enabled = service ? service.disabled !== true : (state?.enabled ?? true);
    return { total, used, running: state?.instances ?? owned.length, enabled, up: hostUp(ctx, servers, n.id) };
  }

  function view(req: FastifyRequest, n: CatalogRecord, detail: boolean) {
    const f = figures(n);
    const name = String(n.name ?? n.id);
    const v: Record<string, unknown> = { id: idOf(req, n), hypervisor_hostname: name, state: f.up ? "up" : "down", status: f.enabled ? "enabled" : "disabled" };
    if (!detail) return v;
    Object.assign(v, {
      hypervisor_type: "QEMU",
      hypervisor_version: 8002002,
      host_ip: String((n.addresses as string[] | undefined)?.[0] ?? "").replace(/^\/ip4\/([^/]+).*$/, "$1"),
      service: { host: name, id: atLeast(req, 53) ? n.id : hash32(n.id), disabled_reason: null },
    });
    if (!atLeast(req, 88)) {
      Object.assign(v, {
        vcpus: f.total.vcpus,
        memory_mb: f.total.ramMb,
        local_gb: f.total.diskGb,
        vcpus_used: f.used.vcpus,
        memory_mb_used: f.used.ramMb,
        local_gb_used: f.used.diskGb,
        free_ram_mb: f.total.ramMb - f.used.ramMb,
        free_disk_gb: f.total.diskGb - f.used.diskGb,
        current_workload: 0,
        running_vms: f.running,
        disk_available_least: f.total.diskGb - f.used.diskGb,
        cpu_info: "{}",
      });
    }
    return v;
  }

  const list = (req: FastifyRequest) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-hypervisors:list");
    const pattern = query(req).hypervisor_hostname_pattern;
    return nodes().filter((n) => !pattern || String(n.name ?? n.id).includes(pattern));
  };
  /** A hypervisor by its id (either form) or host name. */
  const find = (req: FastifyRequest, id: string) => {
    const n = list(req).find((x) => x.id === id || String(hash32(x.id)) === id || x.name === id);
    if (!n) throw new ItemNotFoundError("hypervisor", id, `Hypervisor with ID ${id} could not be found.`);
    return n;
  };
  app.get("/os-hypervisors", async (req) => ({ hypervisors: list(req).map((n) => view(req, n, false)) }));
  app.get("/os-hypervisors/detail", async (req) => ({ hypervisors: list(req).map((n) => view(req, n, true)) }));
  app.get("/os-hypervisors/statistics", async (req) => {
    const rows = list(req).map((n) => view(req, n, true) as Record<string, number>);
    const sum = (k: string) => rows.reduce((t, r) => t + (Number(r[k]) || 0), 0);
    const keys = ["vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms", "disk_available_least"];
    return { hypervisor_statistics: { count: rows.length, ...Object.fromEntries(keys.map((k) => [k, sum(k)])) } };
  });
  // Before 2.53 a client looks a hypervisor up by name here (openstack hypervisor show <name> does).
  app.get<{ Params: { pattern: string } }>("/os-hypervisors/:pattern/search", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-hypervisors:search");
    const found = atLeast(req, 53) ? [] : nodes().filter((n) => String(n.name ?? n.id).includes(req.params.pattern));
    if (found.length === 0) throw new ItemNotFoundError("hypervisor", req.params.pattern, `No hypervisor matching '${req.params.pattern}' could be found.`);
    return { hypervisors: found.map((n) => view(req, n, false)) };
  });
  // Nova's answer for a virt driver without uptime; `openstack hypervisor show` expects exactly this.
  app.get<{ Params: { id: string } }>("/os-hypervisors/:id/uptime", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-hypervisors:uptime");
    find(req, req.params.id);
    throw new NotImplementedError("Hypervisor uptime");
  });
  app.get<{ Params: { id: string } }>("/os-hypervisors/:id", async (req) => {
    return { hypervisor: view(req, find(req, req.params.id), true) };
  });
};
