// Cinder volume types (the one default type, `__DEFAULT__`), limits, os-quota-sets (show, ?usage=true,
// defaults, admin update/delete through the escrow's setLimit) and os-availability-zone.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { NODE_KIND } from "../auth/tokens.ts";
import { canAccessProject, requireAdmin } from "../auth/policy.ts";
import { InvalidRequestError, ItemNotFoundError, NotImplementedError, PolicyForbiddenError } from "../errors.ts";
import { query } from "../identity/http.ts";
import { quotaLimit } from "../quota-input.ts";
import { hostUp } from "../compute/host-liveness.ts";
import { bodyOf, boolParam, caller, projectOf, type VolumeRouteOptions } from "./common.ts";
import { CINDER_DEFAULT_QUOTAS, type VolumeResource } from "./model.ts";
import { quotaDefaults, quotaSetKeys, VOLUME_RESOURCES, volumeFigures } from "./quota.ts";

export const DEFAULT_TYPE_NAME = "__DEFAULT__";
/** Fixed id of the default type (Cinder makes one per deployment; one cluster = one deployment here). */
export const DEFAULT_TYPE_ID = "5e0e7e49-2d1c-4f0b-9a5b-6f6d1b3c8a01";

export function defaultType(): Record<string, unknown> {
  return {
    id: DEFAULT_TYPE_ID,
    name: DEFAULT_TYPE_NAME,
    description: "Default Volume Type",
    is_public: true,
    extra_specs: {},
    qos_specs_id: null,
    "os-volume-type-access:is_public": true,
  };
}

export const typeRoutes: FastifyPluginAsync<VolumeRouteOptions> = async (app, { ctx, backend }) => {
  app.get("/types", async (req) => {
    caller(req);
    return { volume_types: [defaultType()] };
  });
  app.get("/types/default", async (req) => {
    caller(req);
    return { volume_type: defaultType() };
  });
  app.get<{ Params: { id: string } }>("/types/:id", async (req) => {
    caller(req);
    if (req.params.id !== DEFAULT_TYPE_ID && req.params.id !== DEFAULT_TYPE_NAME) throw new ItemNotFoundError("volume_type", req.params.id, `Volume type ${req.params.id} could not be found.`);
    return { volume_type: defaultType() };
  });
  app.get<{ Params: { id: string } }>("/types/:id/extra_specs", async (req) => {
    caller(req);
    if (req.params.id !== DEFAULT_TYPE_ID) throw new ItemNotFoundError("volume_type", req.params.id, `Volume type ${req.params.id} could not be found.`);
    return { extra_specs: {} };
  });

  app.get("/os-availability-zone", async (req) => {
    caller(req);
    const zones = new Set([ctx.node.az ?? "nova", ...ctx.store.list(NODE_KIND).map((n) => String(n.az ?? "nova"))]);
    return { availabilityZoneInfo: [...zones].sort().map((zoneName) => ({ zoneName, zoneState: { available: true } })) };
  });

  // One cinder-volume per mesh host (each holds the volumes created through it); no cinder-scheduler exists.
  app.get("/os-services", async (req) => {
    requireAdmin(caller(req), "volume_extension:services:index");
    const q = query(req);
    const rows = ctx.store
      .list(NODE_KIND)
      .map((n) => ({ n, host: `${String(n.name ?? n.id)}@peerstack` }))
      .filter((x) => (!q.host || x.host === q.host || x.host.startsWith(`${q.host}@`)) && (!q.binary || q.binary === "cinder-volume"))
      .sort((a, b) => a.host.localeCompare(b.host));
    return {
      services: rows.map(({ n, host }) => ({ binary: "cinder-volume", host, zone: String(n.az ?? "nova"), status: "enabled", state: hostUp(ctx, undefined, n.id) ? "up" : "down", updated_at: null, disabled_reason: null })),
    };
  });

  // No Cinder API extensions (`openstack extension list` asks every service).
  app.get("/extensions", async (req) => {
    caller(req);
    return { extensions: [] };
  });

  app.get("/limits", async (req) => {
    const a = caller(req);
    let project = projectOf(a);
    const q = query(req);
    if (q.project_id !== undefined && q.project_id !== project) {
      requireAdmin(a, "limits_extension:used_limits");
      project = q.project_id;
    }
    const { limit, used } = volumeFigures(ctx, backend, project);
    return {
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: limit.volumes,
          maxTotalSnapshots: limit.snapshots,
          maxTotalVolumeGigabytes: limit.gigabytes,
          maxTotalBackups: CINDER_DEFAULT_QUOTAS.backups,
          maxTotalBackupGigabytes: CINDER_DEFAULT_QUOTAS.backup_gigabytes,
          totalVolumesUsed: used.volumes,
          totalSnapshotsUsed: used.snapshots,
          totalGigabytesUsed: used.gigabytes,
          totalBackupsUsed: 0,
          totalBackupGigabytesUsed: 0,
        },
      },
    };
  });

  const show = (project: string, usage: boolean, withId = true) => {
    const { limit, used } = volumeFigures(ctx, backend, project);
    const d = quotaDefaults();
    const out: Record<string, unknown> = withId ? { id: project } : {};
    for (const k of quotaSetKeys()) {
      const l = (limit as Record<string, number>)[k] ?? d[k] ?? -1;
      out[k] = usage ? { limit: l, in_use: (used as Record<string, number>)[k] ?? 0, reserved: 0, allocated: 0 } : l;
    }
    return { quota_set: out };
  };
  const target = (req: FastifyRequest<{ Params: { p: string } }>) => {
    const a = caller(req);
    if (!canAccessProject(a, req.params.p)) throw new PolicyForbiddenError("volume_extension:quotas:show");
    return a;
  };

  app.get<{ Params: { p: string } }>("/os-quota-sets/:p", async (req) => {
    target(req);
    return show(req.params.p, boolParam(query(req).usage));
  });
  app.get<{ Params: { p: string } }>("/os-quota-sets/:p/defaults", async (req) => {
    target(req);
    return { quota_set: { id: req.params.p, ...quotaDefaults() } };
  });

  async function setLimits(project: string, asked: Partial<Record<VolumeResource, number>>): Promise<void> {
    if (!backend.quota) throw new NotImplementedError("Updating volume quotas without node/quota wired on this node");
    for (const [k, v] of Object.entries(asked)) await backend.quota.setLimit(project, k as VolumeResource, v);
  }

  app.put<{ Params: { p: string } }>("/os-quota-sets/:p", async (req) => {
    requireAdmin(caller(req), "volume_extension:quotas:update");
    const b = bodyOf(req, "quota_set");
    const asked: Partial<Record<VolumeResource, number>> = {};
    const { used } = volumeFigures(ctx, backend, req.params.p);
    for (const [k, v] of Object.entries(b)) {
      if (k === "tenant_id" || k === "id") continue;
      if (!quotaSetKeys().includes(k)) throw new InvalidRequestError(`Bad key(s) in quota set: ${k}`);
      const n = quotaLimit(v);
      if (n === undefined) throw new InvalidRequestError(`Invalid input received: Quota ${k} must be an integer from -1 to 2147483647, got ${JSON.stringify(v)}`);
      if (!(VOLUME_RESOURCES as string[]).includes(k)) continue; // fixed here (no backups, groups, per-type limits)
      const r = k as VolumeResource;
      if (n !== -1 && used[r] > n) throw new InvalidRequestError(`Invalid input received: Quota limit ${n} for ${k} must be greater than or equal to already used and reserved ${used[r]}.`);
      asked[r] = n === -1 ? Number.MAX_SAFE_INTEGER : n;
    }
    await setLimits(req.params.p, asked);
    return show(req.params.p, false, false);
  });

  app.delete<{ Params: { p: string } }>("/os-quota-sets/:p", async (req) => {
    requireAdmin(caller(req), "volume_extension:quotas:delete");
    await setLimits(req.params.p, { volumes: CINDER_DEFAULT_QUOTAS.volumes, gigabytes: CINDER_DEFAULT_QUOTAS.gigabytes, snapshots: CINDER_DEFAULT_QUOTAS.snapshots });
    return {};
  });
};
