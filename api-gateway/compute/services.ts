// Nova os-services: one nova-compute per mesh host (from the node records), up/down from its capacity
// adverts. Disabling one (`openstack compute service set --disable <host> nova-compute`) writes the
// replicated compute_service record; the host's agent takes itself out of placement (ComputeFilter) when
// it sees it (node/main/placement-wiring.ts). Both the legacy PUT /os-services/{enable,disable,…} (before
// 2.53) and PUT /os-services/{id} (2.53+) are served. There is no scheduler or conductor to list.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import { query } from "../identity/http.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { COMPUTE_SERVICE } from "../../protocol/records.ts";
import { hash32 } from "../../protocol/random.ts";
import { hostName, hostUp, meshHosts } from "./host-liveness.ts";
import { atLeast } from "./microversion.ts";
import type { ServerBackend } from "./server-backend.ts";

const BINARY = "nova-compute";
type Body = Record<string, unknown>;

export const serviceRoutes: FastifyPluginAsync<{ ctx: GatewayContext; servers?: ServerBackend }> = async (app, { ctx, servers }) => {
  const nodes = () => meshHosts(ctx);

  function view(req: FastifyRequest, n: CatalogRecord): Body {
    const s = ctx.store.get(COMPUTE_SERVICE, n.id);
    const v: Body = {
      id: atLeast(req, 53) ? n.id : hash32(n.id),
      binary: BINARY,
      host: hostName(n),
      zone: String(n.az ?? "nova"),
      status: s?.disabled === true ? "disabled" : "enabled",
      state: hostUp(ctx, servers, n.id) ? "up" : "down",
      updated_at: s?.updated_at ?? null,
      disabled_reason: s?.disabled === true ? (s.disabled_reason ?? null) : null,
    };
    if (atLeast(req, 11)) v.forced_down = false;
    return v;
  }

  const admin = (req: FastifyRequest, action: string) => requireAdmin(requireAuth(req), `os_compute_api:os-services:${action}`);

  /** The host named in a legacy body ({host, binary}); only nova-compute exists. */
  function byHost(body: Body): CatalogRecord {
    const host = typeof body.host === "string" ? body.host : "";
    if (!host) throw new InvalidRequestError("Invalid input for field/attribute host. Value: None.");
    if (body.binary !== BINARY) throw new ItemNotFoundError("service", String(body.binary), `Service ${String(body.binary)} not found.`);
    const n = nodes().find((x) => hostName(x) === host || x.id === host);
    if (!n) throw new ItemNotFoundError("host", host, `Host '${host}' is not found.`);
    return n;
  }

  async function set(n: CatalogRecord, disabled: boolean, reason: unknown): Promise<void> {
    if (reason !== undefined && reason !== null && (typeof reason !== "string" || reason.length > 255)) throw new InvalidRequestError("Invalid input for field/attribute disabled_reason.");
    await ctx.store.put(COMPUTE_SERVICE, n.id, { disabled, disabled_reason: disabled && typeof reason === "string" ? reason : null, updated_at: isoMicro(ctx.clock.now()) });
  }

  app.get("/os-services", async (req) => {
    admin(req, "list");
    const q = query(req);
    const rows = nodes().filter((n) => (!q.host || hostName(n) === q.host) && (!q.binary || q.binary === BINARY));
    return { services: rows.map((n) => view(req, n)) };
  });

  // Before 2.53: PUT /os-services/enable | disable | disable-log-reason with {host, binary}.
  const legacy = async (req: FastifyRequest<{ Params: { action: string } }>) => {
    const action = req.params.action;
    if (atLeast(req, 53) || !["enable", "disable", "disable-log-reason"].includes(action)) return undefined;
    admin(req, "update");
    const body = (req.body ?? {}) as Body;
    const n = byHost(body);
    await set(n, action !== "enable", action === "disable-log-reason" ? body.disabled_reason : undefined);
    const out: Body = { host: hostName(n), binary: BINARY, status: action === "enable" ? "enabled" : "disabled" };
    if (action === "disable-log-reason") out.disabled_reason = body.disabled_reason ?? null;
    return { service: out };
  };

  app.put<{ Params: { action: string } }>("/os-services/:action", async (req) => {
    const old = await legacy(req);
    if (old) return old;
    if (!atLeast(req, 53)) throw new ItemNotFoundError("service", req.params.action, `Service ${req.params.action} not found.`);
    // 2.53+: PUT /os-services/{service_id} with {status, disabled_reason}.
    admin(req, "update");
    const n = nodes().find((x) => x.id === req.params.action);
    if (!n) throw new ItemNotFoundError("service", req.params.action, `Service ${req.params.action} not found.`);
    const body = (req.body ?? {}) as Body;
    if (body.status !== undefined && body.status !== "enabled" && body.status !== "disabled") throw new InvalidRequestError("Invalid input for field/attribute status. Value: must be 'enabled' or 'disabled'.");
    if (body.disabled_reason !== undefined && body.status !== "disabled") throw new InvalidRequestError("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    if (body.status === undefined && body.forced_down === undefined) throw new InvalidRequestError("At least one of status or forced_down must be specified.");
    if (body.forced_down === true) throw new InvalidRequestError("forced_down is not supported: a host is down when its adverts stop (peerstack node remove forgets it).");
    if (body.status !== undefined) await set(n, body.status === "disabled", body.disabled_reason);
    return { service: view(req, n) };
  });
};
