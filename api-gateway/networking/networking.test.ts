import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testGateway, type TestGateway } from "../testing/fixture.ts";
import { IPALLOC } from "../../node/ipam/ipam.ts";

let g: TestGateway;
let token: string;
beforeEach(async () => {
  g = await testGateway();
  token = await g.token();
});
afterEach(async () => g.close());

async function call(method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown, tok = token) {
  const res = await g.app.inject({ method, url: `/networking/v2.0${url}`, payload: payload as object, headers: { "x-auth-token": tok } });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
}

async function netWithSubnet(cidr = "10.0.0.0/24") {
  const net = (await call("POST", "/networks", { network: { name: "n1" } })).body.network;
  const sub = (await call("POST", "/subnets", { subnet: { network_id: net.id, cidr, ip_version: 4, name: "s1" } })).body.subnet;
  return { net, sub };
}

describe("networking API", () => {
  it("version discovery is public", async () => {
    const root = await g.app.inject({ method: "GET", url: "/networking/" });
    expect(JSON.parse(root.body).versions[0]).toMatchObject({ id: "v2.0", status: "CURRENT" });
    const v2 = await g.app.inject({ method: "GET", url: "/networking/v2.0" });
    expect(JSON.parse(v2.body).resources.map((r: { collection: string }) => r.collection)).toContain("ports");
    expect((await g.app.inject({ method: "GET", url: "/networking/v2.0/networks" })).statusCode).toBe(401);
  });

  it("network create/show/list/update: vxlan with a VNI, mtu 1450, ACTIVE, subnets listed", async () => {
    const { net, sub } = await netWithSubnet();
    expect(net).toMatchObject({ name: "n1", "provider:network_type": "vxlan", mtu: 1450, admin_state_up: true, shared: false, "router:external": false, status: "ACTIVE", project_id: g.boot.adminProjectId, tenant_id: g.boot.adminProjectId });
    expect(net["provider:segmentation_id"]).toBeGreaterThanOrEqual(4096);
    const shown = (await call("GET", `/networks/${net.id}`)).body.network;
    expect(shown.subnets).toEqual([sub.id]);
    expect((await call("GET", "/networks?name=n1")).body.networks).toHaveLength(1);
    expect((await call("GET", "/networks?name=nope")).body.networks).toHaveLength(0);
    expect(Object.keys((await call("GET", `/networks/${net.id}?fields=id&fields=name`)).body.network).sort()).toEqual(["id", "name"]);
    expect((await call("PUT", `/networks/${net.id}`, { network: { name: "n2" } })).body.network).toMatchObject({ name: "n2", revision_number: 3 });
    const missing = await call("GET", "/networks/does-not-exist");
    expect(missing.status).toBe(404);
    expect(missing.body.NeutronError).toMatchObject({ type: "NetworkNotFound", detail: "" });
  });

  it("subnet defaults and validation", async () => {
    const { net, sub } = await netWithSubnet();
    expect(sub).toMatchObject({ cidr: "10.0.0.0/24", gateway_ip: "10.0.0.1", allocation_pools: [{ start: "10.0.0.2", end: "10.0.0.254" }], enable_dhcp: true, ip_version: 4, dns_nameservers: [], host_routes: [] });
    const bad = async (subnet: object) => call("POST", "/subnets", { subnet: { network_id: net.id, ip_version: 4, ...subnet } });
    expect((await bad({ cidr: "10.0.0.0/33" })).status).toBe(400);
    expect((await bad({ cidr: "10.0.0.128/25" })).body.NeutronError.message).toMatch(/overlaps/);
    expect((await bad({ cidr: "10.1.0.0/24", allocation_pools: [{ start: "10.1.0.10", end: "10.1.0.20" }, { start: "10.1.0.15", end: "10.1.0.30" }] })).body.NeutronError.message).toMatch(/overlapping/);
    expect((await bad({ cidr: "fd00::/64", ip_version: 6 })).status).toBe(400);
    const ok = await bad({ cidr: "10.2.0.0/24", gateway_ip: "10.2.0.254", dns_nameservers: ["1.1.1.1"], host_routes: [{ destination: "192.168.0.0/16", nexthop: "10.2.0.5" }] });
    expect(ok.status).toBe(201);
    expect(ok.body.subnet.allocation_pools).toEqual([{ start: "10.2.0.1", end: "10.2.0.253" }]);
    // host routes to a /32 (Tempest's test_create_delete_subnet_all_attributes: 10.20.0.0/32 via the gateway) are valid; misaligned is not
    const hostRoute = await bad({ cidr: "10.3.0.0/24", host_routes: [{ destination: "10.20.0.0/32", nexthop: "10.3.0.1" }, { destination: "10.21.0.0/31", nexthop: "10.3.0.1" }] });
    expect(hostRoute.status).toBe(201);
    expect(hostRoute.body.subnet.host_routes).toEqual([{ destination: "10.20.0.0/32", nexthop: "10.3.0.1" }, { destination: "10.21.0.0/31", nexthop: "10.3.0.1" }]);
    expect((await bad({ cidr: "10.4.0.0/24", host_routes: [{ destination: "10.20.0.1/24", nexthop: "10.4.0.1" }] })).body.NeutronError.message).toMatch(/not a valid destination CIDR/);
    expect((await bad({ cidr: "10.4.0.0/24", host_routes: [{ destination: "10.20.0.0/33", nexthop: "10.4.0.1" }] })).status).toBe(400);
  });

  it("port security: groups only with port_security_enabled (400 on create, 409 disabling while groups stay), as Neutron", async () => {
    const { net } = await netWithSubnet();
    const sg = (await call("GET", "/security-groups?name=default")).body.security_groups[0];
    const both = await call("POST", "/ports", { port: { network_id: net.id, port_security_enabled: false, security_groups: [sg.id] } });
    expect(both.status).toBe(400);
    expect(both.body.NeutronError.type).toBe("PortSecurityAndIPRequiredForSecurityGroups");
    const open = await call("POST", "/ports", { port: { network_id: net.id, port_security_enabled: false } });
    expect(open.status).toBe(201);
    expect(open.body.port).toMatchObject({ port_security_enabled: false, security_groups: [] });
    expect((await call("PUT", `/ports/${open.body.port.id}`, { port: { security_groups: [sg.id] } })).body.NeutronError.type).toBe("PortSecurityAndIPRequiredForSecurityGroups");
    const secured = (await call("POST", "/ports", { port: { network_id: net.id } })).body.port;
    const disable = await call("PUT", `/ports/${secured.id}`, { port: { port_security_enabled: false } });
    expect(disable.status).toBe(409);
    expect(disable.body.NeutronError.type).toBe("PortSecurityPortHasSecurityGroup");
    const both2 = await call("PUT", `/ports/${secured.id}`, { port: { port_security_enabled: false, security_groups: [] } });
    expect(both2.status).toBe(200);
    expect(both2.body.port).toMatchObject({ port_security_enabled: false, security_groups: [] });
  });

  it("ports: IPs from IPAM (gateway and DHCP skipped), deterministic fa:16:3e MACs, default security group, fixed IPs, filters, release on delete", async () => {
    const { net, sub } = await netWithSubnet();
    const p1 = (await call("POST", "/ports", { port: { network_id: net.id, name: "p1", device_id: "vm-1", device_owner: "compute:nova" } })).body.port;
    expect(p1).toMatchObject({ status: "DOWN", fixed_ips: [{ subnet_id: sub.id, ip_address: "10.0.0.3" }], device_id: "vm-1", "binding:host_id": "", admin_state_up: true });
    expect(p1.mac_address).toMatch(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    const sgs = (await call("GET", "/security-groups?name=default")).body.security_groups;
    expect(p1.security_groups).toEqual([sgs[0].id]);
    expect(sgs[0].security_group_rules.map((r: any) => `${r.direction}/${r.ethertype}`).sort()).toEqual(["egress/IPv4", "egress/IPv6", "ingress/IPv4", "ingress/IPv6"]);
    const p2 = (await call("POST", "/ports", { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.0.0.50" }] } })).body.port;
    expect(p2.fixed_ips).toEqual([{ subnet_id: sub.id, ip_address: "10.0.0.50" }]);
    const dup = await call("POST", "/ports", { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.0.0.50" }] } });
    expect(dup.status).toBe(409);
    expect(dup.body.NeutronError.type).toBe("IpAddressAlreadyAllocated");
    expect((await call("POST", "/ports", { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.9.0.5" }] } })).body.NeutronError.type).toBe("InvalidIpForNetwork");
    expect((await call("POST", "/ports", { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id, ip_address: "10.0.0.1" }] } })).status).toBe(409);
    expect((await call("GET", "/ports?fixed_ips=ip_address%3D10.0.0.50")).body.ports.map((p: any) => p.id)).toEqual([p2.id]);
    expect((await call("GET", "/ports?device_id=vm-1")).body.ports.map((p: any) => p.id)).toEqual([p1.id]);
    expect((await call("GET", `/ports?network_id=${net.id}`)).body.ports).toHaveLength(2);
    const bound = (await call("PUT", `/ports/${p1.id}`, { port: { "binding:host_id": "host-a" } })).body.port;
    expect(bound).toMatchObject({ status: "ACTIVE", "binding:host_id": "host-a" });
    const inUse = await call("DELETE", `/networks/${net.id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.NeutronError.type).toBe("NetworkInUse");
    expect((await call("DELETE", `/ports/${p2.id}`)).status).toBe(204);
    expect(g.store.list(IPALLOC).map((r) => r.ip)).toEqual(["10.0.0.3"]);
    const again = (await call("POST", "/ports", { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.0.0.50" }] } })).body.port;
    expect(again.fixed_ips[0].ip_address).toBe("10.0.0.50");
    // Update fixed_ips: keep one, add one, drop the other.
    const upd = (await call("PUT", `/ports/${again.id}`, { port: { fixed_ips: [{ ip_address: "10.0.0.60" }] } })).body.port;
    expect(upd.fixed_ips).toEqual([{ subnet_id: sub.id, ip_address: "10.0.0.60" }]);
    expect(g.store.list(IPALLOC).map((r) => r.ip).sort()).toEqual(["10.0.0.3", "10.0.0.60"]);
    await call("DELETE", `/ports/${p1.id}`);
    await call("DELETE", `/ports/${again.id}`);
    expect((await call("DELETE", `/networks/${net.id}`)).status).toBe(204);
    expect((await call("GET", `/subnets/${sub.id}`)).body.NeutronError.type).toBe("SubnetNotFound");
    expect(g.store.list(IPALLOC)).toHaveLength(0);
  });

  it("ip availability per network and subnet (admin), and every host's agents", async () => {
    const { net, sub } = await netWithSubnet();
    for (let i = 0; i < 3; i++) expect((await call("POST", "/ports", { port: { network_id: net.id } })).status).toBe(201);
    const all = (await call("GET", "/network-ip-availabilities?ip_version=4")).body.network_ip_availabilities;
    expect(all).toEqual([{ network_id: net.id, network_name: "n1", project_id: net.project_id, tenant_id: net.project_id, total_ips: 253, used_ips: 3, subnet_ip_availability: [{ subnet_id: sub.id, subnet_name: "s1", cidr: "10.0.0.0/24", ip_version: 4, total_ips: 253, used_ips: 3 }] }]);
    expect((await call("GET", "/network-ip-availabilities?ip_version=6")).body.network_ip_availabilities[0].subnet_ip_availability).toEqual([]);
    expect((await call("GET", "/network-ip-availabilities?network_name=other")).body.network_ip_availabilities).toEqual([]);
    expect((await call("GET", `/network-ip-availabilities/${net.id}`)).body.network_ip_availability).toMatchObject({ used_ips: 3, total_ips: 253 });
    expect((await call("GET", "/network-ip-availabilities/nope")).status).toBe(404);
    const agents = (await call("GET", "/agents")).body.agents as { agent_type: string; alive: boolean; host: string; id: string }[];
    expect(agents.map((a) => a.agent_type).sort()).toEqual(["DHCP agent", "Linux bridge agent"]);
    expect(agents.every((a) => a.alive)).toBe(true);
    expect((await call("GET", `/agents/${agents[0].id}`)).body.agent).toMatchObject({ host: agents[0].host });
    expect((await call("GET", "/agents?agent_type=DHCP%20agent")).body.agents).toHaveLength(1);
  });

  it("security groups and rules: create, duplicate 409, bad ports 400, delete", async () => {
    const sg = (await call("POST", "/security-groups", { security_group: { name: "web", description: "w" } })).body.security_group;
    expect(sg.security_group_rules).toHaveLength(2);
    const rule = await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: sg.id, direction: "ingress", protocol: "tcp", port_range_min: 22, port_range_max: 22, remote_ip_prefix: "0.0.0.0/0" } });
    expect(rule.status).toBe(201);
    expect(rule.body.security_group_rule).toMatchObject({ protocol: "tcp", port_range_min: 22, port_range_max: 22, ethertype: "IPv4", direction: "ingress", remote_ip_prefix: "0.0.0.0/0" });
    const dup = await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: sg.id, direction: "ingress", protocol: "tcp", port_range_min: 22, port_range_max: 22, remote_ip_prefix: "0.0.0.0/0" } });
    expect(dup.body.NeutronError.type).toBe("SecurityGroupRuleExists");
    expect((await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: sg.id, direction: "ingress", protocol: "tcp", port_range_min: 90, port_range_max: 80 } })).status).toBe(400);
    // ICMP: min is the type, max the code, 0..255 each; a code needs a type (the messages Tempest's test_create_security_group_rule_with_invalid_ports matches)
    const icmp = async (min: number | null, max: number | null) => (await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: sg.id, direction: "ingress", protocol: "icmp", port_range_min: min, port_range_max: max } })).body;
    expect((await icmp(1, 256)).NeutronError).toMatchObject({ type: "SecurityGroupInvalidIcmpValue", message: "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255." });
    expect((await icmp(300, 1)).NeutronError.message).toContain("Invalid value for ICMP type");
    expect((await icmp(-1, 25)).NeutronError.message).toContain("Invalid value");
    expect((await icmp(null, 6)).NeutronError.message).toContain("ICMP type (port-range-min) is missing");
    expect((await icmp(8, 0)).security_group_rule).toMatchObject({ protocol: "icmp", port_range_min: 8, port_range_max: 0 });
    expect((await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: sg.id, direction: "sideways" } })).status).toBe(400);
    expect((await call("DELETE", `/security-group-rules/${rule.body.security_group_rule.id}`)).status).toBe(204);
    expect((await call("DELETE", `/security-groups/${sg.id}`)).status).toBe(204);
    expect((await call("GET", `/security-groups/${sg.id}`)).body.NeutronError.type).toBe("SecurityGroupNotFound");
  });

  it("project isolation: a member of another project sees neither the network nor its ports; admins see all", async () => {
    const { net } = await netWithSubnet();
    const idn = (method: "POST" | "PUT", url: string, payload: object) => g.app.inject({ method, url: `/identity/v3${url}`, payload, headers: { "x-auth-token": token } });
    const p = JSON.parse((await idn("POST", "/projects", { project: { name: "demo", domain_id: "default" } })).body).project;
    const u = JSON.parse((await idn("POST", "/users", { user: { name: "bob", password: "bob-pw", domain_id: "default" } })).body).user;
    const roles = JSON.parse((await g.app.inject({ method: "GET", url: "/identity/v3/roles?name=member", headers: { "x-auth-token": token } })).body).roles;
    await idn("PUT", `/projects/${p.id}/users/${u.id}/roles/${roles[0].id}`, {});
    const bob = await g.token("bob", "bob-pw", "demo");
    expect((await call("GET", "/networks", undefined, bob)).body.networks).toEqual([]);
    expect((await call("GET", `/networks/${net.id}`, undefined, bob)).status).toBe(404);
    expect((await call("POST", "/ports", { port: { network_id: net.id } }, bob)).status).toBe(404);
    const own = (await call("POST", "/networks", { network: { name: "bobnet" } }, bob)).body.network;
    expect(own.project_id).toBe(p.id);
    expect((await call("POST", "/networks", { network: { name: "x", "provider:segmentation_id": 5000 } }, bob)).status).toBe(403);
    expect((await call("GET", "/networks")).body.networks.map((n: any) => n.name).sort()).toEqual(["bobnet", "n1"]);
  });
});
