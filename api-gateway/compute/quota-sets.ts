// Nova os-quota-sets: show (own project, or any for admins), detail (in_use/limit/reserved), defaults,
// update and revert (admin; through node/quota's escrow setLimit, which re-balances rights mesh-wide).
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { DEFAULT_LIMITS, type QuotaResource } from "../../node/quota/limits.ts";
import { requireAuth } from "../auth/plugin.ts";
import { canAccessProject, requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, NotImplementedError, PolicyForbiddenError } from "../errors.ts";
import { bodyObject } from "../identity/http.ts";
import { quotaLimit } from "../quota-input.ts";
import { NOVA_DEFAULT_QUOTAS, type ComputeQuotas } from "./limits.ts";
import { atLeast } from "./microversion.ts";
import { serverBackend, type ServerBackend } from "./server-backend.ts";

/** Quota-set keys backed by node/quota counters. */
const ESCROWED = ["instances", "cores", "ram"] as const;

export const quotaSetRoutes: FastifyPluginAsync<{ ctx: GatewayContext; quotas: ComputeQuotas; servers?: ServerBackend }> = async (app, { ctx, quotas, servers }) => {
  const keys = (req: FastifyRequest) => {
    const k = ["instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups", "server_group_members"];
    if (!atLeast(req, 57)) k.push("injected_files", "injected_file_content_bytes", "injected_file_path_bytes");
    if (!atLeast(req, 36)) k.push("fixed_ips", "floating_ips", "security_groups", "security_group_rules");
    return k;
  };
  const extraDefaults: Record<string, number> = { injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255, fixed_ips: -1 };

  function figures(project: string): { limit: Record<string, number>; used: Record<string, number> } {
    const limit: Record<string, number> = { ...extraDefaults, ...NOVA_DEFAULT_QUOTAS, ...quotas.limits(project) };
    const u = quotas.usage(project);
    const used: Record<string, number> = { instances: u.instances, cores: u.cores, ram: u.ram, server_groups: u.serverGroups, key_pairs: 0 };
    const q = serverBackend(ctx.node.id, servers)?.quota;
    if (q) {
      for (const r of ESCROWED) {
        const c = q.counter(project, r);
        if (bc.minted(c) > 0 || bc.limit(c) > 0) {
          limit[r] = bc.limit(c);
          used[r] = bc.usage(c);
        }
      }
    }
    return { limit, used };
  }

  const target = (req: FastifyRequest, project: string) => {
    const a = requireAuth(req);
    if (!canAccessProject(a, project)) throw new PolicyForbiddenError("os_compute_api:os-quota-sets:show");
    return a;
  };
  const show = (req: FastifyRequest, project: string, detail: boolean) => {
    const { limit, used } = figures(project);
    const out: Record<string, unknown> = { id: project };
    for (const k of keys(req)) out[k] = detail ? { in_use: used[k] ?? 0, limit: limit[k] ?? -1, reserved: 0 } : (limit[k] ?? -1);
    return { quota_set: out };
  };

  app.get<{ Params: { p: string } }>("/os-quota-sets/:p", async (req) => {
    target(req, req.params.p);
    return show(req, req.params.p, false);
  });
  app.get<{ Params: { p: string } }>("/os-quota-sets/:p/detail", async (req) => {
    target(req, req.params.p);
    return show(req, req.params.p, true);
  });
  app.get<{ Params: { p: string } }>("/os-quota-sets/:p/defaults", async (req) => {
    requireAuth(req);
    const out: Record<string, unknown> = { id: req.params.p };
    for (const k of keys(req)) out[k] = { ...extraDefaults, ...NOVA_DEFAULT_QUOTAS }[k] ?? -1;
    return { quota_set: out };
  });

  async function setLimits(project: string, asked: Record<string, number>): Promise<void> {
    const q = serverBackend(ctx.node.id, servers)?.quota;
    if (!q) throw new NotImplementedError("Updating quotas without node/quota wired on this node");
    for (const [k, v] of Object.entries(asked)) {
      if (!(k in DEFAULT_LIMITS)) continue; // others (metadata_items, injected_*) are fixed here
      await q.setLimit(project, k as QuotaResource, v);
    }
  }

  app.put<{ Params: { p: string } }>("/os-quota-sets/:p", async (req) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-quota-sets:update");
    const b = bodyObject(req, "quota_set");
    const asked: Record<string, number> = {};
    for (const [k, v] of Object.entries(b)) {
      if (k === "force") continue;
      if (!keys(req).includes(k)) throw new InvalidRequestError(`Invalid input for field/attribute quota_set. Additional properties are not allowed ('${k}' was unexpected)`);
      const n = quotaLimit(v);
      if (n === undefined) throw new InvalidRequestError(`Invalid input for field/attribute ${k}. Value: ${JSON.stringify(v)}. It must be an integer from -1 to 2147483647.`);
      asked[k] = n === -1 ? Number.MAX_SAFE_INTEGER : n;
    }
    const { used } = figures(req.params.p);
    for (const [k, n] of Object.entries(asked)) {
      if (b.force !== true && (used[k] ?? 0) > n) throw new InvalidRequestError(`Quota limit ${n} for ${k} must be greater than or equal to already used and reserved ${used[k]}.`);
    }
    await setLimits(req.params.p, asked);
    return show(req, req.params.p, false);
  });

  app.delete<{ Params: { p: string } }>("/os-quota-sets/:p", async (req, reply) => {
    requireAdmin(requireAuth(req), "os_compute_api:os-quota-sets:delete");
    await setLimits(req.params.p, Object.fromEntries(ESCROWED.map((r) => [r, DEFAULT_LIMITS[r]])));
    return reply.code(202).send();
  });
};
