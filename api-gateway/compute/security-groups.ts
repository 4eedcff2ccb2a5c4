// Nova's os-security-groups proxy (before 2.36; Nova answers 404 from 2.36 on), read-only over the
// Neutron groups: `openstack server add security group <server> <group>` (python-openstackclient 6)
// finds the group here before it posts addSecurityGroup. Rules in Nova's shape; the caller's project
// gets its default group, as a Neutron list would make it.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { canAccessProject } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ItemNotFoundError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { ensureDefaultGroup, SECURITY_GROUP, SECURITY_GROUP_RULE } from "../networking/security-groups.ts";
import { atLeast } from "./microversion.ts";

type Obj = Record<string, unknown>;

export const securityGroupProxyRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  function view(g: CatalogRecord): Obj {
    const rules = ctx.store.list(SECURITY_GROUP_RULE, (r) => r.security_group_id === g.id && r.direction === "ingress").sort((a, b) => a.id.localeCompare(b.id));
    return {
      id: g.id,
      name: g.name,
      description: g.description ?? "",
      tenant_id: g.project_id,
      rules: rules.map((r) => ({
        id: r.id,
        parent_group_id: g.id,
        ip_protocol: r.protocol ?? null,
        from_port: r.port_range_min ?? null,
        to_port: r.port_range_max ?? null,
        ip_range: typeof r.remote_ip_prefix === "string" ? { cidr: r.remote_ip_prefix } : {},
        group: typeof r.remote_group_id === "string" ? { name: ctx.store.get(SECURITY_GROUP, r.remote_group_id)?.name, tenant_id: g.project_id } : {},
      })),
    };
  }
  const gone = (req: FastifyRequest) => atLeast(req, 36);
  const visible = async (req: FastifyRequest) => {
    const a = requireAuth(req);
    if (a.project) await ensureDefaultGroup(ctx, a.project.id);
    return ctx.store.list(SECURITY_GROUP, (g) => canAccessProject(a, String(g.project_id))).sort((x, y) => String(x.name).localeCompare(String(y.name)) || x.id.localeCompare(y.id));
  };

  app.get("/os-security-groups", async (req) => {
    if (gone(req)) throw new ItemNotFoundError("resource", "os-security-groups", "The resource could not be found.");
    return { security_groups: (await visible(req)).map(view) };
  });
  app.get<{ Params: { id: string } }>("/os-security-groups/:id", async (req) => {
    if (gone(req)) throw new ItemNotFoundError("resource", "os-security-groups", "The resource could not be found.");
    const g = (await visible(req)).find((x) => x.id === req.params.id);
    if (!g) throw new ItemNotFoundError("security_group", req.params.id, `Security group ${req.params.id} not found.`);
    return { security_group: view(g) };
  });
};
