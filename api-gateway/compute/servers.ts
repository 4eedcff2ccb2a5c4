// Nova servers: create (through the placement service: quota, BUILD record, auction — answered 202 before
// the auction ends), list/detail with filters and paging, show, rename, delete (desired "deleted"; the owner
// removes the record). Actions and volume attachments are in server-actions.ts.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { InvalidServerRequestError } from "../../node/placement-service.ts";
import { QuotaExceededError } from "../../node/quota/limits.ts";
import type { CrdtStore } from "../../node/store/crdt-store.ts";
import type { GroupPolicy } from "../../protocol/placement/index.ts";
import { requireAuth, type AuthContext } from "../auth/plugin.ts";
import { canAccessProject, isAdmin, requireRole } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { InvalidRequestError, ItemNotFoundError } from "../errors.ts";
import { bodyObject, query } from "../identity/http.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { canSee } from "../image/plugin.ts";
import { flavorVisible } from "./flavors.ts";
import { keypairId, KEYPAIR } from "./keypairs.ts";
import { accessIpFields, ipFilter } from "./access-ips.ts";
import { imageOfMappings } from "./block-device-mapping.ts";
import { atLeast } from "./microversion.ts";
import { refuseIfLocked } from "./server-lock.ts";
import { forgetActions, recordAction, requestIdOf } from "./instance-action-log.ts";
import { serverBackend, type ServerBackend } from "./server-backend.ts";
import { defaultNics, parseNics, portAllocator, type ServerPorts } from "./server-ports.ts";
import { addressesOf, SERVER, serverBrief, serverUpdateView, serverView } from "./server-view.ts";
import { SERVER_GROUP } from "./server-groups.ts";

export interface ServerRouteOptions {
  ctx: GatewayContext;
  servers?: ServerBackend;
}

type Obj = Record<string, unknown>;

/** The server `id` as the caller may see it, else Nova's 404. */
export function findServer(ctx: GatewayContext, a: AuthContext, id: string): CatalogRecord {
  const s = ctx.store.get(SERVER, id);
  if (!s || !canAccessProject(a, String(s.project_id))) throw new ItemNotFoundError("server", id, `Instance ${id} could not be found.`);
  return s;
}

/** Nova answers 403 (not 413) for quota exceeded on server create. */
export function quotaForbidden(err: QuotaExceededError) {
  return { forbidden: { code: 403, message: err.message } };
}

function refId(v: unknown, what: string): string {
  if (typeof v !== "string" || !v) throw new InvalidRequestError(`Invalid input for field/attribute ${what}.`);
  return v.replace(/\/+$/, "").split("/").pop()!;
}

/** Nova's config_drive: a boolean or its string forms ("True", "false", "1" …); absent/null = the node's default. */
function configDriveOf(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  const t = String(v).toLowerCase();
  if (["true", "1", "yes", "on", "t", "y"].includes(t)) return true;
  if (["false", "0", "no", "off", "f", "n"].includes(t)) return false;
  throw new InvalidRequestError(`Invalid input for field/attribute config_drive. Value: ${String(v)}. ${JSON.stringify(v)} is not of type 'boolean', 'string'`);
}

function metadataOf(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new InvalidRequestError("Invalid input for field/attribute metadata. Value: must be an object");
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string" || k.length < 1 || k.length > 255 || x.length > 255) throw new InvalidRequestError(`Invalid input for field/attribute metadata. Value: ${k}`);
    out[k] = x;
  }
  return out;
}

export const serverRoutes: FastifyPluginAsync<ServerRouteOptions> = async (app, { ctx, servers }) => {
  const backend = () => serverBackend(ctx.node.id, servers);
  const inFlight = new Map<string, Promise<Obj>>();

  // When the owner removes a deleted server (its own local remove), the ports the API made for it go too.
  const watchable = ctx.store as Partial<Pick<CrdtStore, "onChange">>;
  if (typeof watchable.onChange === "function") {
    const off = watchable.onChange(({ delta, record, local }) => {
      if (!local || record || delta.kind !== SERVER || !delta.deleted) return;
      portAllocator(ctx, backend()?.ipam)
        .removeCreatedFor(delta.id)
        .catch((err: unknown) => app.log.warn({ err, server: delta.id }, "deleting the ports of a removed server failed"));
      forgetActions(ctx, delta.id).catch((err: unknown) => app.log.warn({ err, server: delta.id }, "removing the actions of a removed server failed"));
    });
    app.addHook("onClose", async () => off());
  }

  function securityGroups(project: string, raw: unknown): { names: string[]; ids?: string[] } {
    if (raw === undefined) return { names: ["default"] };
    if (!Array.isArray(raw)) throw new InvalidRequestError("Invalid input for field/attribute security_groups.");
    const names: string[] = [];
    const ids: string[] = [];
    for (const g of raw as Obj[]) {
      const n = String(g?.name ?? "");
      const rec = ctx.store.list("security_group", (r) => r.project_id === project && (r.id === n || r.name === n))[0];
      if (!rec && n !== "default") throw new InvalidRequestError(`Security group ${n} not found for project ${project}.`);
      names.push(rec ? String(rec.name) : n);
      if (rec) ids.push(rec.id);
    }
    return { names, ids: ids.length === names.length ? ids : undefined };
  }

  app.post("/servers", async (req, reply) => {
    const a = requireAuth(req);
    const project = requireRole(a, "member", "os_compute_api:servers:create");
    const b = bodyObject(req, "server");
    const be = backend();
    if (!be) return reply.code(503).send({ computeFault: { code: 503, message: "No placement service is wired on this node." } });
    const name = typeof b.name === "string" ? b.name.trim() : "";
    if (!name || name.length > 255) throw new InvalidRequestError("Invalid input for field/attribute name. Value: must be 1-255 characters");
    const flavorId = refId(b.flavorRef, "flavorRef");
    const flavor = ctx.store.get("flavor", flavorId);
    if (!flavor || !flavorVisible(a, flavor)) throw new InvalidRequestError(`Flavor ${flavorId} could not be found.`);
    let imageId: string | undefined;
    const mappedImage = imageOfMappings(b);
    if (b.imageRef !== undefined && b.imageRef !== "") {
      imageId = refId(b.imageRef, "imageRef");
      if (mappedImage !== undefined && mappedImage !== imageId) throw new InvalidRequestError(`Block device mapping boots image ${mappedImage}, not imageRef ${imageId}: not supported by peerstack.`);
    } else imageId = mappedImage;
    if (imageId !== undefined) {
      const img = ctx.store.get("image", imageId);
      if (!img || !canSee(ctx.store, a, img)) throw new InvalidRequestError(`Image ${imageId} could not be found.`);
      // Nova boots only active images: a queued, saving or killed (refused) one has no usable bits.
      if (img.status !== "active") throw new InvalidRequestError(`Image ${imageId} is not active.`);
      // kernel_id / ramdisk_id are booted into the guest: they must be images the requester may see too.
      const props = (img.properties ?? {}) as Record<string, unknown>;
      for (const k of ["kernel_id", "ramdisk_id"]) {
        const ref = props[k];
        if (ref === undefined || ref === "") continue;
        const part = typeof ref === "string" ? ctx.store.get("image", ref) : undefined;
        if (!part || !canSee(ctx.store, a, part)) throw new InvalidRequestError(`Image ${String(ref)} could not be found.`);
      }
    }
    if (!imageId) throw new InvalidRequestError("Cannot create a server without an image (boot from volume is not supported).");
    const accessIps = accessIpFields(b);
    const nics = parseNics(b.networks, atLeast(req, 37));
    const nicList = nics === "none" ? [] : nics === "auto" ? defaultNics(ctx, a, project) : nics;
    let keyName: string | undefined;
    let publicKey: string | undefined;
    if (b.key_name !== undefined && b.key_name !== null) {
      const k = ctx.store.get(KEYPAIR, keypairId(a.user.id, String(b.key_name)));
      if (!k) throw new InvalidRequestError("Invalid key_name provided.");
      keyName = String(k.name);
      publicKey = String(k.public_key);
    }
    let userData: string | undefined;
    if (b.user_data !== undefined && b.user_data !== null) {
      const u = String(b.user_data);
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(u) || u.length > 65535) throw new InvalidRequestError("User data needs to be valid base 64.");
      userData = u;
    }
    const configDrive = configDriveOf(b.config_drive);
    const extra = metadataOf(b.metadata);
    const groups = securityGroups(project, b.security_groups);
    const minCount = Number(b.min_count ?? 1);
    const maxCount = Number(b.max_count ?? minCount);
    if (!Number.isInteger(minCount) || !Number.isInteger(maxCount) || minCount < 1 || maxCount < minCount || maxCount > 100) throw new InvalidRequestError("min_count and max_count must be integers with 1 <= min_count <= max_count <= 100");
    const hintsRaw = ((req.body as Obj)["os:scheduler_hints"] ?? (req.body as Obj)["OS-SCH-HNT:scheduler_hints"] ?? {}) as Obj;
    // same_host/different_host may only name servers the caller sees (else they would reveal placement).
    const list = (v: unknown) =>
      v === undefined
        ? undefined
        : (Array.isArray(v) ? v : [v]).map((x) => {
            const s = ctx.store.get(SERVER, String(x));
            if (!s || !canAccessProject(a, String(s.project_id))) throw new InvalidRequestError(`Invalid scheduler hint: instance ${String(x)} could not be found.`);
            return String(x);
          });
    let group: { id: string; policy: GroupPolicy; maxServerPerHost?: number } | undefined;
    if (hintsRaw.group !== undefined) {
      const g = ctx.store.get(SERVER_GROUP, String(hintsRaw.group));
      if (!g || !canAccessProject(a, String(g.project_id))) throw new InvalidRequestError(`Server group ${String(hintsRaw.group)} could not be found.`);
      const max = Number((g.rules as Obj | undefined)?.max_server_per_host);
      group = { id: g.id, policy: g.policy as GroupPolicy, ...(max > 0 ? { maxServerPerHost: max } : {}) };
    }
    const az = typeof b.availability_zone === "string" && b.availability_zone ? b.availability_zone.split(":")[0] : undefined;
    const ports = portAllocator(ctx, be.ipam);
    const created: Obj[] = [];
    for (let i = 0; i < maxCount; i++) {
      const id = ctx.random.uuid();
      const nm = maxCount > 1 ? `${name}-${i + 1}` : name;
      let sp: ServerPorts | undefined;
      try {
        sp = await ports.create(a, project, id, nicList, groups.ids);
        const now = isoMicro(ctx.clock.now());
        const c = await be.placement.createServer({
          id,
          project,
          name: nm,
          flavor: { id: flavor.id, vcpus: Number(flavor.vcpus), ram: Number(flavor.ram), disk: Number(flavor.disk), ephemeral: Number(flavor.ephemeral ?? 0), swap: Number(flavor.swap ?? 0) || 0, extraSpecs: (flavor.extra_specs as Record<string, string>) ?? {} },
          image: { id: imageId },
          availabilityZone: az,
          group,
          hints: { same_host: list(hintsRaw.same_host), different_host: list(hintsRaw.different_host) },
          fields: {
            user_id: a.user.id,
            request_id: requestIdOf(reply), // the create's instance action (os-instance-actions)
            flavor: { vcpus: Number(flavor.vcpus), ram: Number(flavor.ram), disk: Number(flavor.disk) },
            flavor_name: flavor.name,
            flavor_extra_specs: flavor.extra_specs ?? {},
            ephemeral: Number(flavor.ephemeral ?? 0),
            swap: Number(flavor.swap ?? 0) || 0,
            ports: sp.ports,
            created_ports: sp.created,
            metadata: { hostname: nm.replace(/[^A-Za-z0-9-]/g, "-").slice(0, 63), key_name: keyName, ssh_keys: publicKey ? [publicKey] : [], user_data: userData, extra },
            key_name: keyName ?? null,
            // The owner host's default applies when the request does not say.
            ...(configDrive !== undefined ? { config_drive_requested: configDrive } : {}),
            ...accessIps,
            security_groups: groups.names,
            desired: "active",
            vm_state: "building",
            power_state: 0,
            reboot_seq: 0,
            created_at: now,
            updated_at: now,
          },
        });
        const placed = c.placed.finally(() => inFlight.delete(id));
        inFlight.set(id, placed);
        created.push(c.record);
      } catch (err) {
        if (sp) await ports.release(sp);
        if (err instanceof QuotaExceededError) {
          if (created.length >= minCount) break; // Nova creates up to max_count when min_count fits
          return reply.code(403).send(quotaForbidden(err));
        }
        if (err instanceof InvalidServerRequestError) throw new InvalidRequestError(err.message);
        throw err;
      }
    }
    reply.code(202);
    const first = created[0] as CatalogRecord & Obj;
    // Nova's create answer has no name (Tempest's create_server schema forbids extra properties), and
    // no adminPass: nothing sets it in the guest (Nova with [api] enable_instance_password = False)
    const out: Obj = { id: first.id, links: serverBrief(ctx, req, first).links, "OS-DCF:diskConfig": "MANUAL", security_groups: groups.names.map((n) => ({ name: n })) };
    if (b.return_reservation_id === true) return { reservation_id: `r-${first.id.slice(0, 8)}` };
    return { server: out };
  });

  function listed(req: FastifyRequest): CatalogRecord[] {
    const a = requireAuth(req);
    const q = query(req);
    const all = isAdmin(a) && q.all_tenants !== undefined && q.all_tenants !== "0" && q.all_tenants !== "false";
    const project = q.project_id ?? q.tenant_id;
    let rows = ctx.store.list(SERVER, (s) => (all ? project === undefined || s.project_id === project : s.project_id === a.project?.id));
    if (q.name) {
      let re: RegExp | undefined;
      try {
        re = new RegExp(q.name);
      } catch {
        throw new InvalidRequestError(`Invalid name filter ${q.name}`);
      }
      rows = rows.filter((s) => re!.test(String(s.name)));
    }
    if (q.status) rows = rows.filter((s) => String(s.status ?? "BUILD").toUpperCase() === q.status!.toUpperCase());
    for (const [key, family] of [["ip", 4], ["ip6", 6]] as const) {
      const pattern = q[key];
      if (pattern === undefined) continue;
      const match = ipFilter(pattern, family);
      rows = rows.filter((s) => match(Object.values(addressesOf(ctx, s)).flat() as { addr: string; version: number }[]));
    }
    if (q.flavor) rows = rows.filter((s) => s.flavor_id === q.flavor);
    if (q.image) rows = rows.filter((s) => s.image_id === q.image);
    if (q.host && isAdmin(a)) rows = rows.filter((s) => s.host === q.host || ctx.store.get("node", String(s.host))?.name === q.host);
    rows.sort((x, y) => String(y.created_at).localeCompare(String(x.created_at)) || x.id.localeCompare(y.id));
    if (q.marker !== undefined) {
      const i = rows.findIndex((s) => s.id === q.marker);
      if (i < 0) throw new InvalidRequestError(`marker [${q.marker}] not found`);
      rows = rows.slice(i + 1);
    }
    if (q.limit !== undefined) {
      const n = Number(q.limit);
      if (!Number.isInteger(n) || n < 0) throw new InvalidRequestError("limit param must be an integer");
      rows = rows.slice(0, n);
    }
    return rows;
  }

  app.get("/servers", async (req) => ({ servers: listed(req).map((s) => serverBrief(ctx, req, s)) }));
  app.get("/servers/detail", async (req) => {
    const a = requireAuth(req);
    return { servers: listed(req).map((s) => serverView(ctx, req, a, s)) };
  });

  app.get<{ Params: { id: string } }>("/servers/:id", async (req) => {
    const a = requireAuth(req);
    return { server: serverView(ctx, req, a, findServer(ctx, a, req.params.id)) };
  });

  app.put<{ Params: { id: string } }>("/servers/:id", async (req) => {
    const a = requireAuth(req);
    const s = findServer(ctx, a, req.params.id);
    requireRole(a, "member", "os_compute_api:servers:update");
    const b = bodyObject(req, "server");
    const fields: Obj = {};
    if (b.name !== undefined) {
      const name = typeof b.name === "string" ? b.name.trim() : "";
      if (!name || name.length > 255) throw new InvalidRequestError("Invalid input for field/attribute name.");
      fields.name = name;
    }
    Object.assign(fields, accessIpFields(b));
    if (b.description !== undefined && atLeast(req, 19)) fields.description = b.description === null ? null : String(b.description).slice(0, 255);
    if (Object.keys(fields).length) await ctx.store.put(SERVER, s.id, { ...fields, updated_at: isoMicro(ctx.clock.now()) });
    return { server: serverUpdateView(ctx, req, a, ctx.store.get(SERVER, s.id)!) };
  });

  app.delete<{ Params: { id: string } }>("/servers/:id", async (req, reply) => {
    const a = requireAuth(req);
    let s = findServer(ctx, a, req.params.id);
    requireRole(a, "member", "os_compute_api:servers:delete");
    refuseIfLocked(a, s);
    const pending = inFlight.get(s.id);
    if (pending) {
      await pending; // the auction this node runs ends in bounded time; then the outcome is known
      s = ctx.store.get(SERVER, s.id) ?? s;
    }
    if (s.desired === "deleted") return reply.code(204).send();
    const be = backend();
    if (typeof s.host !== "string" || !s.host) {
      // Never placed (ERROR, quota already returned by placement): nobody owns it, delete it here.
      await portAllocator(ctx, be?.ipam).release({ ports: (s.ports as string[]) ?? [], created: (s.created_ports as string[]) ?? [] });
      await ctx.store.remove(SERVER, s.id);
      return reply.code(204).send();
    }
    // The owner host tears it down, removes the record and returns its quota (node/quota/owner-release.ts).
    await recordAction(ctx, reply, a, s, "delete");
    await ctx.store.put(SERVER, s.id, { desired: "deleted", updated_at: isoMicro(ctx.clock.now()) });
    return reply.code(204).send();
  });
};
