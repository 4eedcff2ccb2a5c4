// Security groups (kind "security_group") and rules (kind "security_group_rule"), stored only (the
// network driver does not enforce them yet). Each project's `default` group is created on first use
// with an id derived from the project id, so two nodes creating it at once write the same record.
import type { FastifyPluginAsync } from "fastify";
import { formatIp, parseIp } from "../../node/ipam/cidr.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import type { CatalogRecord } from "../store.ts";
import { NeutronFault, badRequest, body, caller, inUse, listResult, listable, nowIso, onlyKnown, owningProject, requireWrite, standard, str, uuidFrom, visible, withFields, type Obj } from "./common.ts";
import { PORT } from "./networks.ts";
import type { NetworkingDeps } from "./plugin.ts";
import { SECURITY_GROUP, SECURITY_GROUP_RULE } from "../../protocol/records.ts";

export { SECURITY_GROUP, SECURITY_GROUP_RULE };

const RULE_FIELDS = ["security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description", "project_id", "tenant_id", "normalized_cidr"];
const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, gre: 47, esp: 50, ah: 51, ipv6_icmp: 58 };

export const defaultGroupId = (project: string) => uuidFrom(`peerstack:default-security-group:${project}`);

export function ruleView(r: CatalogRecord): Obj {
  return {
    id: r.id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype ?? "IPv4",
    protocol: r.protocol ?? null,
    port_range_min: r.port_range_min ?? null,
    port_range_max: r.port_range_max ?? null,
    remote_ip_prefix: r.remote_ip_prefix ?? null,
    remote_group_id: r.remote_group_id ?? null,
    remote_address_group_id: null,
    normalized_cidr: r.remote_ip_prefix ?? null,
    belongs_to_default_sg: r.security_group_id === defaultGroupId(String(r.project_id)),
    ...standard(r),
  };
}

export function groupView(ctx: GatewayContext, g: CatalogRecord): Obj {
  const rules = ctx.store.list(SECURITY_GROUP_RULE, (r) => r.security_group_id === g.id).sort((a, b) => a.id.localeCompare(b.id));
  return { id: g.id, name: g.name, stateful: true, shared: false, security_group_rules: rules.map(ruleView), ...standard(g) };
}

/** The project's `default` group, created (with Neutron's four default rules) if missing. */
export async function ensureDefaultGroup(ctx: GatewayContext, project: string): Promise<string> {
  const id = defaultGroupId(project);
  if (ctx.store.get(SECURITY_GROUP, id)) return id;
  const now = nowIso(ctx);
  await ctx.store.put(SECURITY_GROUP, id, { name: "default", description: "Default security group", project_id: project, created_at: now, updated_at: now, revision_number: 1 });
  for (const ethertype of ["IPv4", "IPv6"]) {
    for (const [direction, remote] of [["egress", null], ["ingress", id]] as const) {
      await ctx.store.put(SECURITY_GROUP_RULE, uuidFrom(`${id}:${direction}:${ethertype}`), { security_group_id: id, project_id: project, direction, ethertype, remote_group_id: remote, created_at: now, updated_at: now, revision_number: 0, description: "" });
    }
  }
  return id;
}

function portNumber(v: unknown, field: string, max: number): number | null {
  if (v === undefined || v === null) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new NeutronFault(400, "SecurityGroupInvalidPortValue", `Invalid value for port ${String(v)} (${field}).`);
  return n;
}

/** For ICMP the port range is the ICMP type (min) and code (max), each 0..255 (Neutron's SecurityGroupInvalidIcmpValue). */
function icmpNumber(v: unknown, what: "type" | "code", field: string): number | null {
  if (v === undefined || v === null) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new NeutronFault(400, "SecurityGroupInvalidIcmpValue", `Invalid value for ICMP ${what} (${field}) ${String(v)}. It must be 0 to 255.`);
  return n;
}

/** Validates a rule body into its stored fields (Neutron's rules: ports need tcp/udp/sctp, min <= max, …). */
function ruleFields(o: Obj, group: CatalogRecord): Record<string, unknown> {
  const direction = o.direction;
  if (direction !== "ingress" && direction !== "egress") throw badRequest(`Invalid input for direction. Reason: ${String(direction)} is not in valid_values [ingress, egress].`);
  const ethertype = o.ethertype ?? "IPv4";
  if (ethertype !== "IPv4" && ethertype !== "IPv6") throw badRequest(`Invalid input for ethertype. Reason: ${String(ethertype)} is not in valid_values [IPv4, IPv6].`);
  let protocol: string | null = o.protocol === undefined || o.protocol === null || o.protocol === "any" ? null : String(o.protocol).toLowerCase();
  if (protocol !== null && !(protocol in PROTOCOLS) && !(/^\d{1,3}$/.test(protocol) && Number(protocol) <= 255)) {
    throw new NeutronFault(400, "SecurityGroupRuleInvalidProtocol", `Security group rule protocol ${protocol} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(", ")}] and integer representations [0 to 255] are supported.`);
  }
  if (protocol === "ipv6_icmp") protocol = "icmpv6";
  const icmp = protocol === "icmp" || protocol === "icmpv6" || protocol === "1" || protocol === "58";
  const min = icmp ? icmpNumber(o.port_range_min, "type", "port_range_min") : portNumber(o.port_range_min, "port_range_min", 65535);
  const max = icmp ? icmpNumber(o.port_range_max, "code", "port_range_max") : portNumber(o.port_range_max, "port_range_max", 65535);
  if (icmp && max !== null && min === null) throw new NeutronFault(400, "SecurityGroupMissingIcmpType", `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
  if ((min !== null || max !== null) && protocol === null) throw new NeutronFault(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.");
  if (!icmp && (min !== null || max !== null)) {
    if (min === null || max === null || min < 1 || min > max) throw new NeutronFault(400, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max and both >= 1.");
  }
  let prefix: string | null = null;
  if (o.remote_ip_prefix !== undefined && o.remote_ip_prefix !== null) {
    const [addr, len] = String(o.remote_ip_prefix).split("/");
    const ip = parseIp(addr);
    const bits = len === undefined ? 32 : Number(len);
    if (ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) throw badRequest(`Invalid input for remote_ip_prefix. Reason: '${String(o.remote_ip_prefix)}' is not a valid IPv4 CIDR.`);
    if (ethertype !== "IPv4") throw new NeutronFault(400, "SecurityGroupRuleParameterConflict", `Conflicting value ethertype ${ethertype} for CIDR ${String(o.remote_ip_prefix)}`);
    const size = 2 ** (32 - bits);
    prefix = bits === 0 ? "0.0.0.0/0" : `${formatIp(ip - (ip % size))}/${bits}`;
  }
  if (prefix !== null && o.remote_group_id != null) throw new NeutronFault(400, "SecurityGroupRemoteGroupAndRemoteIpPrefix", "Only remote_ip_prefix or remote_group_id may be provided.");
  return {
    security_group_id: group.id,
    project_id: group.project_id,
    direction,
    ethertype,
    protocol,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: prefix,
    remote_group_id: o.remote_group_id ?? null,
    description: str(o, "description") ?? "",
  };
}

const SAME = ["direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id"];

export const securityGroupRoutes: FastifyPluginAsync<NetworkingDeps> = async (app, { ctx }) => {
  const findGroup = (a: AuthContext, id: string) => visible(a, ctx.store.get(SECURITY_GROUP, id), "securityGroup", id);
  const findRule = (a: AuthContext, id: string) => visible(a, ctx.store.get(SECURITY_GROUP_RULE, id), "securityGroupRule", id);

  app.post("/security-groups", async (req, reply) => {
    const a = caller(req);
    const o = body(req, "security_group");
    onlyKnown(o, ["name", "description", "project_id", "tenant_id", "stateful", "tags"]);
    const project = owningProject(a, o, "create_security_group");
    const name = str(o, "name") ?? "";
    if (name === "default") throw new NeutronFault(409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.");
    await ensureDefaultGroup(ctx, project);
    const id = ctx.random.uuid();
    const now = nowIso(ctx);
    await ctx.store.put(SECURITY_GROUP, id, { name, description: str(o, "description") ?? "", project_id: project, created_at: now, updated_at: now, revision_number: 1 });
    for (const ethertype of ["IPv4", "IPv6"]) {
      await ctx.store.put(SECURITY_GROUP_RULE, ctx.random.uuid(), { security_group_id: id, project_id: project, direction: "egress", ethertype, remote_group_id: null, created_at: now, updated_at: now, revision_number: 0, description: "" });
    }
    reply.code(201);
    return { security_group: groupView(ctx, ctx.store.get(SECURITY_GROUP, id)!) };
  });

  app.get("/security-groups", async (req) => {
    const a = caller(req);
    await ensureDefaultGroup(ctx, a.project.id);
    return { security_groups: listResult(req, listable(ctx, a, SECURITY_GROUP).map((g) => groupView(ctx, g))) };
  });

  app.get<{ Params: { id: string } }>("/security-groups/:id", async (req) => ({ security_group: withFields(req, groupView(ctx, findGroup(caller(req), req.params.id))) }));

  app.put<{ Params: { id: string } }>("/security-groups/:id", async (req) => {
    const a = caller(req);
    const g = findGroup(a, req.params.id);
    requireWrite(a, g, "update_security_group");
    const o = body(req, "security_group");
    onlyKnown(o, ["name", "description", "stateful", "tags"]);
    const fields: Record<string, unknown> = {};
    if (o.name !== undefined) {
      if (g.name === "default" && o.name !== "default") throw new NeutronFault(409, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.");
      fields.name = str(o, "name");
    }
    if (o.description !== undefined) fields.description = str(o, "description");
    await ctx.store.put(SECURITY_GROUP, g.id, { ...fields, updated_at: nowIso(ctx), revision_number: Number(g.revision_number ?? 0) + 1 });
    return { security_group: groupView(ctx, ctx.store.get(SECURITY_GROUP, g.id)!) };
  });

  app.delete<{ Params: { id: string } }>("/security-groups/:id", async (req, reply) => {
    const a = caller(req);
    const g = findGroup(a, req.params.id);
    requireWrite(a, g, "delete_security_group");
    if (g.id === defaultGroupId(String(g.project_id)) && !isAdmin(a)) throw new NeutronFault(409, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.");
    const users = ctx.store.list(PORT, (p) => Array.isArray(p.security_groups) && p.security_groups.includes(g.id));
    if (users.length > 0) throw inUse("SecurityGroupInUse", `Security Group ${g.id} in use.`);
    for (const r of ctx.store.list(SECURITY_GROUP_RULE, (x) => x.security_group_id === g.id)) await ctx.store.remove(SECURITY_GROUP_RULE, r.id);
    await ctx.store.remove(SECURITY_GROUP, g.id);
    return reply.code(204).send();
  });

  app.post("/security-group-rules", async (req, reply) => {
    const a = caller(req);
    const o = body(req, "security_group_rule");
    onlyKnown(o, RULE_FIELDS);
    const gid = str(o, "security_group_id");
    if (!gid) throw badRequest("Invalid input for security_group_id. Reason: it is required.");
    const g = findGroup(a, gid);
    requireWrite(a, g, "create_security_group_rule");
    if (o.remote_group_id != null) findGroup(a, String(o.remote_group_id));
    const fields = ruleFields(o, g);
    const dup = ctx.store.list(SECURITY_GROUP_RULE, (r) => r.security_group_id === g.id && SAME.every((k) => (r[k] ?? null) === fields[k]));
    if (dup.length > 0) throw new NeutronFault(409, "SecurityGroupRuleExists", `Security group rule already exists. Rule id is ${dup[0].id}.`);
    const id = ctx.random.uuid();
    const now = nowIso(ctx);
    await ctx.store.put(SECURITY_GROUP_RULE, id, { ...fields, created_at: now, updated_at: now, revision_number: 0 });
    reply.code(201);
    return { security_group_rule: ruleView(ctx.store.get(SECURITY_GROUP_RULE, id)!) };
  });

  app.get("/security-group-rules", async (req) => ({ security_group_rules: listResult(req, listable(ctx, caller(req), SECURITY_GROUP_RULE).map(ruleView)) }));

  app.get<{ Params: { id: string } }>("/security-group-rules/:id", async (req) => ({ security_group_rule: withFields(req, ruleView(findRule(caller(req), req.params.id))) }));

  app.delete<{ Params: { id: string } }>("/security-group-rules/:id", async (req, reply) => {
    const a = caller(req);
    const r = findRule(a, req.params.id);
    requireWrite(a, r, "delete_security_group_rule");
    await ctx.store.remove(SECURITY_GROUP_RULE, r.id);
    return reply.code(204).send();
  });
};
