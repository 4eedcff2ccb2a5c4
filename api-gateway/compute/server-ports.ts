// Ports for servers: Nova asks Neutron; here the API writes the port records itself in the shape the
// networking plugin uses (kind "port", fixed_ips from node/ipam, fa:16:3e MACs, the default security group).
import { Ipam, type IpamSubnet } from "../../node/ipam/ipam.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { canAccessProject } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError } from "../errors.ts";
import { isoMicro } from "../identity/model.ts";
import { macFor } from "../networking/ports.ts";
import { ensureDefaultGroup } from "../networking/security-groups.ts";
import type { CatalogRecord } from "../store.ts";
import { NETWORK, PORT } from "./server-view.ts";

export interface NicRequest {
  network?: string;
  port?: string;
  fixedIp?: string;
}

export interface ServerPorts {
  /** Port ids in NIC order. */
  ports: string[];
  /** Those the API created (deleted with the server). */
  created: string[];
}

const visibleNet = (a: AuthContext, n: CatalogRecord | undefined) => !!n && (canAccessProject(a, String(n.project_id)) || n.shared === true || n["router:external"] === true);

/** Nova's network selection for "networks" absent / "auto": the single network the project can use. */
export function defaultNics(ctx: GatewayContext, a: AuthContext, project: string): NicRequest[] {
  const nets = ctx.store.list(NETWORK, (n) => n.project_id === project || n.shared === true);
  if (nets.length === 0) return [];
  if (nets.length > 1) throw new ConflictError("Multiple possible networks found, use a Network ID to be more specific.");
  void a;
  return [{ network: nets[0].id }];
}

export function parseNics(raw: unknown, atLeast37: boolean): NicRequest[] | "auto" | "none" {
  if (raw === undefined) {
    if (atLeast37) throw new InvalidRequestError("Invalid input for field/attribute server. Value: 'networks' is a required property");
    return "auto";
  }
  if (raw === "auto" || raw === "none") return raw;
  if (!Array.isArray(raw)) throw new InvalidRequestError("Invalid input for field/attribute networks. Value: must be a list, 'auto' or 'none'");
  return raw.map((n) => {
    const o = (n ?? {}) as Record<string, unknown>;
    const nic: NicRequest = {};
    if (typeof o.port === "string" && o.port) nic.port = o.port;
    else if (typeof o.uuid === "string" && o.uuid) nic.network = o.uuid;
    else throw new InvalidRequestError("Bad networks format: network uuid is not in proper format or port is missing");
    if (typeof o.fixed_ip === "string") nic.fixedIp = o.fixed_ip;
    return nic;
  });
}

export function portAllocator(ctx: GatewayContext, ipam?: Ipam) {
  const ip = ipam ?? new Ipam({ store: ctx.store, node: ctx.node.id });
  const subnetsOf = (networkId: string) => ctx.store.list("subnet", (s) => s.network_id === networkId).sort((x, y) => String(x.created_at).localeCompare(String(y.created_at)) || x.id.localeCompare(y.id));

  async function remove(portIds: string[]): Promise<void> {
    for (const id of portIds) {
      const p = ctx.store.get(PORT, id);
      if (!p) continue;
      for (const f of (p.fixed_ips as { subnet_id: string; ip_address: string }[] | undefined) ?? []) {
        const s = ctx.store.get("subnet", f.subnet_id);
        if (s) await ip.release(s as unknown as IpamSubnet, f.ip_address, id);
      }
      await ctx.store.remove(PORT, id);
    }
  }

  /** Creates/claims the ports of a new server (all or nothing). */
  async function create(a: AuthContext, project: string, serverId: string, nics: NicRequest[], groups: string[] | undefined): Promise<ServerPorts> {
    const out: ServerPorts = { ports: [], created: [] };
    try {
      for (const nic of nics) {
        if (nic.port) {
          const p = ctx.store.get(PORT, nic.port);
          if (!p || !canAccessProject(a, String(p.project_id))) throw new InvalidRequestError(`Port ${nic.port} could not be found.`);
          if (p.device_id) throw new ConflictError(`Port ${nic.port} is still in use.`);
          await ctx.store.put(PORT, p.id, { device_id: serverId, device_owner: "compute:nova" });
          out.ports.push(p.id);
          continue;
        }
        const net = ctx.store.get(NETWORK, nic.network!);
        if (!visibleNet(a, net)) throw new InvalidRequestError(`Network ${nic.network} could not be found.`);
        const id = ctx.random.uuid();
        const fixed: { subnet_id: string; ip_address: string }[] = [];
        const subnets = subnetsOf(net!.id);
        for (const s of subnets) {
          try {
            fixed.push({ subnet_id: s.id, ip_address: await ip.allocate(s as unknown as IpamSubnet, id, nic.fixedIp) });
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== "IP_EXHAUSTED" || s === subnets[subnets.length - 1]) throw new ConflictError(`creating a port for server "${serverId}" on network ${net!.id}: ${(err as Error).message}`);
          }
        }
        const now = isoMicro(ctx.clock.now());
        await ctx.store.put(PORT, id, {
          name: "",
          description: "",
          network_id: net!.id,
          project_id: project,
          admin_state_up: true,
          mac_address: macFor(ctx, net!.id, id),
          fixed_ips: fixed,
          device_id: serverId,
          device_owner: "compute:nova",
          server_auto_delete: true,
          security_groups: groups ?? [await ensureDefaultGroup(ctx, project)],
          port_security_enabled: true,
          allowed_address_pairs: [],
          created_at: now,
          updated_at: now,
          revision_number: 1,
        });
        out.ports.push(id);
        out.created.push(id);
      }
      return out;
    } catch (err) {
      await release(out);
      throw err;
    }
  }

  /** Undoes create(): deletes the ports it made, frees the ones it claimed. */
  async function release(p: ServerPorts): Promise<void> {
    await remove(p.created);
    for (const id of p.ports.filter((x) => !p.created.includes(x))) {
      if (ctx.store.get(PORT, id)) await ctx.store.put(PORT, id, { device_id: "", device_owner: "" });
    }
  }

  /** Deletes the ports made for a server that is gone (called where the owner removed the record). */
  async function removeCreatedFor(serverId: string): Promise<void> {
    await remove(ctx.store.list(PORT, (p) => p.device_id === serverId && p.server_auto_delete === true).map((p) => p.id));
  }

  return { create, release, removeCreatedFor };
}
