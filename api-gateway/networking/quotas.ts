// Neutron's quotas, read-only: networking quotas are not enforced yet, so these are Neutron's defaults
// and the project's usage (what `openstack quota show` reads).
import type { FastifyPluginAsync } from "fastify";
import { isAdmin } from "../auth/policy.ts";
import { PolicyForbiddenError } from "../errors.ts";
import { caller } from "./common.ts";
import { NETWORK, PORT, SUBNET } from "./networks.ts";
import type { NetworkingDeps } from "./plugin.ts";
import { SECURITY_GROUP } from "./security-groups.ts";

export const NEUTRON_DEFAULT_QUOTAS = { network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, rbac_policy: 10, subnetpool: -1 };

const COUNTED: [resource: keyof typeof NEUTRON_DEFAULT_QUOTAS, kind: string][] = [
  ["network", NETWORK],
  ["subnet", SUBNET],
  ["port", PORT],
  ["security_group", SECURITY_GROUP],
  ["security_group_rule", "security_group_rule"],
];

export const quotaRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx }) => {
  const target = (project: string, a: ReturnType<typeof caller>) => {
    if (!isAdmin(a) && a.project.id !== project) throw new PolicyForbiddenError("get_quota");
    return project;
  };

  app.get("/quotas", async (req) => {
    const a = caller(req);
    if (!isAdmin(a)) throw new PolicyForbiddenError("get_quota");
    return { quotas: [] };
  });

  app.get<{ Params: { project: string } }>("/quotas/:project", async (req) => {
    target(req.params.project, caller(req));
    return { quota: { ...NEUTRON_DEFAULT_QUOTAS } };
  });

  app.get<{ Params: { project: string } }>("/quotas/:project/default", async (req) => {
    target(req.params.project, caller(req));
    return { quota: { ...NEUTRON_DEFAULT_QUOTAS } };
  });

  app.get<{ Params: { project: string } }>("/quotas/:project/details", async (req) => {
    const project = target(req.params.project, caller(req));
    const quota: Record<string, { limit: number; used: number; reserved: number }> = {};
    for (const [r, limit] of Object.entries(NEUTRON_DEFAULT_QUOTAS)) quota[r] = { limit, used: 0, reserved: 0 };
    for (const [r, kind] of COUNTED) quota[r].used = ctx.store.list(kind, (x) => x.project_id === project).length;
    return { quota };
  });
};
