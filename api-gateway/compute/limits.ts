// GET /limits and os-availability-zone.
// STUB: node/quota does not exist yet. Limits come from `ComputeQuotas` when the agent passes one;
// otherwise from Nova's default quota values, with usage counted from "server" and "keypair" records.
import type { FastifyPluginAsync } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { query } from "../identity/http.ts";
import { NODE_KIND } from "../auth/tokens.ts";
import { atLeast } from "./microversion.ts";

export interface ComputeUsage {
  instances: number;
  cores: number;
  ram: number;
  serverGroups: number;
}

/** What the quota service (node/quota, not written yet) must provide to the gateway. */
export interface ComputeQuotas {
  /** Limits per resource for a project: instances, cores, ram, key_pairs, server_groups, server_group_members, metadata_items. */
  limits(projectId: string): Record<string, number>;
  usage(projectId: string): ComputeUsage;
}

export const NOVA_DEFAULT_QUOTAS: Record<string, number> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  metadata_items: 128,
  security_groups: 10,
  security_group_rules: 20,
  floating_ips: 10,
};

/** The stand-in until node/quota lands: default limits, usage from the catalog. */
export function defaultComputeQuotas(ctx: Pick<GatewayContext, "store">): ComputeQuotas {
  return {
    limits: () => ({ ...NOVA_DEFAULT_QUOTAS }),
    usage(projectId) {
      const servers = ctx.store.list("server", (s) => s.project_id === projectId);
      let cores = 0;
      let ram = 0;
      for (const s of servers) {
        const f = (s.flavor ?? {}) as Record<string, unknown>;
        cores += Number(s.vcpus ?? f.vcpus ?? 0) || 0;
        ram += Number(s.ram ?? f.ram ?? 0) || 0;
      }
      return { instances: servers.length, cores, ram, serverGroups: ctx.store.list("server_group", (g) => g.project_id === projectId).length };
    },
  };
}

export const limitRoutes: FastifyPluginAsync<{ ctx: GatewayContext; quotas: ComputeQuotas }> = async (app, { ctx, quotas }) => {
  app.get("/limits", async (req) => {
    const a = requireAuth(req);
    const q = query(req);
    let projectId = a.project?.id ?? "";
    if (q.tenant_id !== undefined && q.tenant_id !== projectId) {
      requireAdmin(a, "os_compute_api:limits:other_project");
      projectId = q.tenant_id;
    }
    const l = quotas.limits(projectId);
    const u = quotas.usage(projectId);
    const absolute: Record<string, number> = {
      maxTotalInstances: l.instances,
      maxTotalCores: l.cores,
      maxTotalRAMSize: l.ram,
      maxTotalKeypairs: l.key_pairs,
      maxServerMeta: l.metadata_items,
      maxServerGroups: l.server_groups,
      maxServerGroupMembers: l.server_group_members,
      totalInstancesUsed: u.instances,
      totalCoresUsed: u.cores,
      totalRAMUsed: u.ram,
      totalServerGroupsUsed: u.serverGroups,
    };
    if (!atLeast(req, 57)) Object.assign(absolute, { maxPersonality: 5, maxPersonalitySize: 10240 });
    if (!atLeast(req, 36)) {
      Object.assign(absolute, {
        maxSecurityGroups: l.security_groups,
        maxSecurityGroupRules: l.security_group_rules,
        maxTotalFloatingIps: l.floating_ips,
        totalSecurityGroupsUsed: 0,
        totalFloatingIpsUsed: 0,
      });
    }
    return { limits: { rate: [], absolute } };
  });

  /** Zones: every node record's "az", plus this node's. */
  const zones = (): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    const add = (az: string, host: string) => out.set(az, [...(out.get(az) ?? []), host]);
    let selfSeen = false;
    for (const n of ctx.store.list(NODE_KIND)) {
      if (n.id === ctx.node.id) selfSeen = true;
      add(String(n.az ?? "nova"), String(n.name ?? n.id));
    }
    if (!selfSeen) add(ctx.node.az ?? "nova", ctx.node.name);
    return out;
  };

  app.get("/os-availability-zone", async (req) => {
    requireAuth(req);
    return { availabilityZoneInfo: [...zones().keys()].sort().map((zoneName) => ({ zoneName, zoneState: { available: true }, hosts: null })) };
  });

  app.get("/os-availability-zone/detail", async (req) => {
    const a = requireAuth(req);
    requireAdmin(a, "os_compute_api:os-availability-zone:detail");
    return {
      availabilityZoneInfo: [...zones().entries()].sort().map(([zoneName, hosts]) => ({
        zoneName,
        zoneState: { available: true },
        hosts: Object.fromEntries(hosts.map((h) => [h, { "nova-compute": { available: true, active: true, updated_at: null } }])),
      })),
    };
  });
};
