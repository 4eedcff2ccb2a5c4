// Neutron networks (kind "network"): VXLAN tenant networks whose VNI comes from protocol/vni.ts.
// Concurrent creations that picked the same VNI are settled by resolveVniConflicts over every
// network record, so every node shows (and the driver uses) the same collision-free assignment.
import type { FastifyPluginAsync } from "fastify";
import { allocateVni, resolveVniConflicts, type VniClaim } from "../../protocol/vni.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { PolicyForbiddenError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { badRequest, body, bool, caller, inUse, listResult, listable, nowIso, onlyKnown, owningProject, requireWrite, standard, str, visible, withFields } from "./common.ts";
import type { NetworkingDeps } from "./plugin.ts";

export const NETWORK = "network";
export const SUBNET = "subnet";
export const PORT = "port";
export const NETWORK_MTU = 1450;

const WRITABLE = ["name", "description", "admin_state_up", "shared", "port_security_enabled", "mtu", "tags"];
const CREATE = [...WRITABLE, "project_id", "tenant_id", "provider:network_type", "provider:segmentation_id", "provider:physical_network", "router:external", "availability_zone_hints", "dns_domain", "qos_policy_id", "is_default"];

/** The VNI of every network, collisions resolved (same answer on every node that has the same records). */
export function vniAssignment(ctx: GatewayContext): Map<string, number> {
  const claims: VniClaim[] = ctx.store.list(NETWORK).filter((n) => typeof n.vni === "number").map((n) => ({ networkId: n.id, vni: n.vni as number }));
  return resolveVniConflicts(claims).assignment;
}

export function networkView(ctx: GatewayContext, n: CatalogRecord, vnis: Map<string, number>): Record<string, unknown> {
  const subnets = ctx.store.list(SUBNET, (s) => s.network_id === n.id).sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  return {
    id: n.id,
    name: n.name ?? "",
    admin_state_up: n.admin_state_up ?? true,
    status: "ACTIVE",
    shared: n.shared ?? false,
    mtu: n.mtu ?? NETWORK_MTU,
    subnets: subnets.map((s) => s.id),
    "provider:network_type": "vxlan",
    "provider:physical_network": null,
    "provider:segmentation_id": vnis.get(n.id) ?? n.vni ?? null,
    "router:external": false,
    port_security_enabled: n.port_security_enabled ?? true,
    availability_zone_hints: [],
    availability_zones: [ctx.node.az ?? "nova"],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    l2_adjacency: true,
    is_default: false,
    dns_domain: "",
    qos_policy_id: null,
    ...standard(n),
  };
}

export const networkRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx, ipam }) => {
  const find = (id: string, req: Parameters<typeof caller>[0]) => visible(caller(req), ctx.store.get(NETWORK, id), "network", id);

  app.post("/networks", async (req, reply) => {
    const a = caller(req);
    const o = body(req, "network");
    onlyKnown(o, CREATE);
    const project = owningProject(a, o, "create_network");
    const provider = ["provider:network_type", "provider:segmentation_id", "provider:physical_network"].filter((k) => o[k] !== undefined && o[k] !== null);
    if (provider.length > 0 && !isAdmin(a)) throw new PolicyForbiddenError(`create_network:${provider[0]}`);
    if (o["provider:network_type"] !== undefined && o["provider:network_type"] !== "vxlan") throw badRequest(`Invalid input: network type ${String(o["provider:network_type"])} is not supported (only vxlan).`);
    if (o["router:external"] === true) throw badRequest("External networks are not supported.");
    if (o.shared === true && !isAdmin(a)) throw new PolicyForbiddenError("create_network:shared");
    const mtu = o.mtu === undefined ? NETWORK_MTU : Number(o.mtu);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > NETWORK_MTU) throw badRequest(`Requested MTU is too big, maximum is ${NETWORK_MTU}.`);
    const id = ctx.random.uuid();
    const claims: VniClaim[] = ctx.store.list(NETWORK).filter((n) => typeof n.vni === "number").map((n) => ({ networkId: n.id, vni: n.vni as number }));
    let vni: number;
    if (o["provider:segmentation_id"] !== undefined) {
      vni = Number(o["provider:segmentation_id"]);
      if (!Number.isInteger(vni) || vni < 1 || vni > 16_777_215) throw badRequest(`Invalid segmentation id ${String(vni)}.`);
      if (claims.some((c) => c.vni === vni)) throw inUse("SegmentationIdInUse", `Unable to create the network. The VNI ${vni} is in use.`);
    } else vni = allocateVni(id, claims);
    const now = nowIso(ctx);
    await ctx.store.put(NETWORK, id, {
      name: str(o, "name") ?? "",
      description: str(o, "description") ?? "",
      project_id: project,
      admin_state_up: bool(o, "admin_state_up") ?? true,
      shared: bool(o, "shared") ?? false,
      port_security_enabled: bool(o, "port_security_enabled") ?? true,
      mtu,
      vni,
      created_at: now,
      updated_at: now,
      revision_number: 1,
    });
    reply.code(201);
    return { network: networkView(ctx, ctx.store.get(NETWORK, id)!, vniAssignment(ctx)) };
  });

  app.get("/networks", async (req) => {
    const a = caller(req);
    const vnis = vniAssignment(ctx);
    return { networks: listResult(req, listable(ctx, a, NETWORK).map((n) => networkView(ctx, n, vnis))) };
  });

  app.get<{ Params: { id: string } }>("/networks/:id", async (req) => ({ network: withFields(req, networkView(ctx, find(req.params.id, req), vniAssignment(ctx))) }));

  app.put<{ Params: { id: string } }>("/networks/:id", async (req) => {
    const a = caller(req);
    const n = find(req.params.id, req);
    requireWrite(a, n, "update_network");
    const o = body(req, "network");
    onlyKnown(o, WRITABLE);
    if (o.shared !== undefined && !isAdmin(a)) throw new PolicyForbiddenError("update_network:shared");
    const fields: Record<string, unknown> = {};
    for (const k of ["name", "description"]) if (o[k] !== undefined) fields[k] = str(o, k);
    for (const k of ["admin_state_up", "shared", "port_security_enabled"]) if (o[k] !== undefined) fields[k] = bool(o, k);
    if (o.mtu !== undefined) {
      const mtu = Number(o.mtu);
      if (!Number.isInteger(mtu) || mtu < 68 || mtu > NETWORK_MTU) throw badRequest(`Requested MTU is too big, maximum is ${NETWORK_MTU}.`);
      fields.mtu = mtu;
    }
    await ctx.store.put(NETWORK, n.id, { ...fields, updated_at: nowIso(ctx), revision_number: Number(n.revision_number ?? 0) + 1 });
    return { network: networkView(ctx, ctx.store.get(NETWORK, n.id)!, vniAssignment(ctx)) };
  });

  app.delete<{ Params: { id: string } }>("/networks/:id", async (req, reply) => {
    const a = caller(req);
    const n = find(req.params.id, req);
    requireWrite(a, n, "delete_network");
    const ports = ctx.store.list(PORT, (p) => p.network_id === n.id && p.device_owner !== "network:dhcp");
    if (ports.length > 0) throw inUse("NetworkInUse", `Unable to complete operation on network ${n.id}. There are one or more ports still in use on the network.`);
    for (const p of ctx.store.list(PORT, (x) => x.network_id === n.id)) await ctx.store.remove(PORT, p.id);
    for (const s of ctx.store.list(SUBNET, (x) => x.network_id === n.id)) {
      await ipam.forget(s.id);
      await ctx.store.remove(SUBNET, s.id);
    }
    await ctx.store.remove(NETWORK, n.id);
    return reply.code(204).send();
  });
};
