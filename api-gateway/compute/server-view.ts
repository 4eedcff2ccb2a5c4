// Nova's server representation from a `server` record (fields per microversion up to 2.79).
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { AuthContext } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import type { CatalogRecord } from "../store.ts";
import { atLeast } from "./microversion.ts";

export const SERVER = "server";
export const PORT = "port";
export const NETWORK = "network";

type Obj = Record<string, unknown>;

const str = (v: unknown, d = ""): string => (typeof v === "string" ? v : d);

/** Nova's hostId: sha224(project id + host), "" while unplaced. */
export function hostIdOf(projectId: string, host: unknown): string {
  return typeof host === "string" && host ? createHash("sha224").update(projectId + host).digest("hex") : "";
}

export function links(base: string, kind: string, id: string): Obj[] {
  return [
    { rel: "self", href: `${base}/compute/v2.1/${kind}/${id}` },
    { rel: "bookmark", href: `${base}/compute/${kind}/${id}` },
  ];
}

/** {network name: [{addr, version, OS-EXT-IPS:type, OS-EXT-IPS-MAC:mac_addr}]} from the server's ports. */
export function addressesOf(ctx: GatewayContext, s: CatalogRecord): Record<string, Obj[]> {
  const out: Record<string, Obj[]> = {};
  for (const pid of Array.isArray(s.ports) ? s.ports : []) {
    const p = ctx.store.get(PORT, String(pid));
    if (!p) continue;
    const net = ctx.store.get(NETWORK, String(p.network_id));
    const name = str(net?.name, String(p.network_id));
    for (const f of (p.fixed_ips as { ip_address: string }[] | undefined) ?? []) {
      (out[name] ??= []).push({ addr: f.ip_address, version: f.ip_address.includes(":") ? 6 : 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.mac_address });
    }
  }
  return out;
}

const PROGRESS_STATUSES = new Set(["ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"]);

export function serverBrief(ctx: GatewayContext, req: FastifyRequest, s: CatalogRecord): Obj {
  return { id: s.id, name: str(s.name), links: links(ctx.baseUrl(req), "servers", s.id) };
}

/** Status as the API shows it: a delete that the owner has not picked up yet already reads as deleting. */
function states(s: CatalogRecord): { status: string; vm: string; task: string | null; power: number } {
  let status = str(s.status, "BUILD");
  let task = typeof s.task_state === "string" ? s.task_state : null;
  if (s.desired === "deleted" && status !== "DELETED") task = "deleting";
  if (s.desired === "deleted" && status === "DELETED") status = "ACTIVE";
  const vm = str(s.vm_state, status === "ERROR" ? "error" : status === "BUILD" ? "building" : "active");
  return { status, vm, task, power: typeof s.power_state === "number" ? s.power_state : 0 };
}

export function serverView(ctx: GatewayContext, req: FastifyRequest, auth: AuthContext, s: CatalogRecord): Obj {
  const base = ctx.baseUrl(req);
  const project = str(s.project_id);
  const st = states(s);
  const meta = (s.metadata ?? {}) as { extra?: Record<string, string>; key_name?: string };
  const flavorId = str(s.flavor_id);
  const flavor: Obj = atLeast(req, 47)
    ? {
        vcpus: s.vcpus ?? 0,
        ram: s.ram ?? 0,
        disk: s.disk ?? 0,
        ephemeral: s.ephemeral ?? 0,
        swap: s.swap ?? 0,
        original_name: str(s.flavor_name, flavorId),
        extra_specs: (s.flavor_extra_specs as Obj | undefined) ?? {},
      }
    : { id: flavorId, links: [{ rel: "bookmark", href: `${base}/compute/flavors/${flavorId}` }] };
  const imageId = str(s.image_id);
  const v: Obj = {
    id: s.id,
    name: str(s.name),
    status: st.status,
    tenant_id: project,
    user_id: str(s.user_id),
    metadata: meta.extra ?? {},
    hostId: hostIdOf(project, s.host),
    image: imageId ? { id: imageId, links: [{ rel: "bookmark", href: `${base}/compute/images/${imageId}` }] } : "",
    flavor,
    created: str(s.created_at),
    updated: str(s.updated_at, str(s.created_at)),
    addresses: addressesOf(ctx, s),
    accessIPv4: str(s.access_ip_v4),
    accessIPv6: str(s.access_ip_v6),
    links: links(base, "servers", s.id),
    "OS-DCF:diskConfig": "MANUAL",
    "OS-EXT-AZ:availability_zone": str(s.availability_zone, str(ctx.store.get("node", str(s.host))?.az, "nova")),
    // Nova's string: "True" when the owner host attached a config drive.
    config_drive: s.config_drive === true ? "True" : "",
    key_name: meta.key_name ?? (typeof s.key_name === "string" ? s.key_name : null),
    "OS-SRV-USG:launched_at": typeof s.launched_at === "string" ? s.launched_at : null,
    "OS-SRV-USG:terminated_at": null,
    "OS-EXT-STS:task_state": st.task,
    "OS-EXT-STS:vm_state": st.vm,
    "OS-EXT-STS:power_state": st.power,
    "os-extended-volumes:volumes_attached": ((s.volumes_attached as { volumeId: string }[] | undefined) ?? []).map((a) => (atLeast(req, 3) ? { id: a.volumeId, delete_on_termination: false } : { id: a.volumeId })),
    security_groups: ((s.security_groups as string[] | undefined) ?? []).map((name) => ({ name })),
  };
  if (isAdmin(auth)) {
    const host = typeof s.host === "string" ? s.host : null;
    Object.assign(v, {
      "OS-EXT-SRV-ATTR:host": host ? str(ctx.store.get("node", host)?.name, host) : null,
      "OS-EXT-SRV-ATTR:hypervisor_hostname": host ? str(ctx.store.get("node", host)?.name, host) : null,
      "OS-EXT-SRV-ATTR:instance_name": `instance-${s.id.slice(0, 8)}`,
    });
  }
  if (st.status === "ERROR" && s.fault && typeof s.fault === "object") {
    const f = s.fault as { code?: number; message?: string; created?: string };
    v.fault = { code: f.code ?? 500, message: f.message ?? "", created: f.created ?? str(s.updated_at, str(s.created_at)) };
  }
  // Nova shows progress only in the statuses that make progress (Tempest: assertNotIn('progress') once SHUTOFF).
  if (PROGRESS_STATUSES.has(st.status)) v.progress = 0;
  if (atLeast(req, 9)) v.locked = s.locked === true;
  if (atLeast(req, 19)) v.description = typeof s.description === "string" ? s.description : null;
  if (atLeast(req, 26)) v.tags = [];
  if (atLeast(req, 63)) v.trusted_image_certificates = null;
  if (atLeast(req, 73)) v.locked_reason = s.locked === true && typeof s.locked_reason === "string" ? s.locked_reason : null;
  return v;
}

// Nova's PUT /servers/{id} answer below 2.75 is the bare show view (show_extended_attr, show_AZ, show_keypair,
// show_sec_grp, ... all False; addresses without OS-EXT-IPS): Tempest's update_server schema forbids the rest.
const UPDATE_KEYS = new Set(["id", "name", "status", "image", "flavor", "fault", "user_id", "tenant_id", "created", "updated", "progress", "metadata", "links", "addresses", "hostId", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "locked", "description", "tags", "trusted_image_certificates", "locked_reason"]);

/** The server as PUT /servers/{id} answers it: the full view from 2.75, the bare one before. */
export function serverUpdateView(ctx: GatewayContext, req: FastifyRequest, auth: AuthContext, s: CatalogRecord): Obj {
  const full = serverView(ctx, req, auth, s);
  if (atLeast(req, 75)) return full;
  const bare: Obj = Object.fromEntries(Object.entries(full).filter(([k]) => UPDATE_KEYS.has(k)));
  const addresses = full.addresses as Record<string, { addr: string; version: number }[]>;
  bare.addresses = Object.fromEntries(Object.entries(addresses).map(([net, list]) => [net, list.map((a) => ({ version: a.version, addr: a.addr }))]));
  return bare;
}
