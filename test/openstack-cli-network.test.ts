// The real `openstack` CLI against the Networking API on a real listener over a LevelDB-backed CRDT
// store: networks, subnets, ports (addresses from IPAM), security groups and rules, deletes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LevelKv } from "../node/store/level-kv.ts";
import { systemClock } from "../node/runtime/system.ts";
import { IPALLOC } from "../node/ipam/ipam.ts";
import { ADMIN_PASSWORD, testGateway, type TestGateway } from "../api-gateway/testing/fixture.ts";
import { openstack, type CliResult } from "./helpers/openstack-cli.ts";

type Row = Record<string, unknown>;

describe("openstack CLI: networking", () => {
  let g: TestGateway;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "psnet-api-"));
    const kv = await LevelKv.open(join(dir, "catalog"));
    g = await testGateway({ clock: systemClock, kv });
    url = await g.app.listen({ host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const os = (args: string[]): Promise<CliResult> => openstack({ url, dir, password: ADMIN_PASSWORD }, args);

  it("network, subnet and port create/list/show; security groups and rules; deletes", async () => {
    const net = (await os(["network", "create", "net1", "-f", "json"])).json() as Row;
    expect(net).toMatchObject({ name: "net1", mtu: 1450, status: "ACTIVE", admin_state_up: true, shared: false, "provider:network_type": "vxlan", project_id: g.boot.adminProjectId });
    expect(net["provider:segmentation_id"]).toEqual(expect.any(Number));

    const sub = (await os(["subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.0/24", "--dns-nameserver", "10.0.0.53", "sub1", "-f", "json"])).json() as Row;
    expect(sub).toMatchObject({ name: "sub1", cidr: "10.0.0.0/24", gateway_ip: "10.0.0.1", ip_version: 4, enable_dhcp: true, network_id: net.id });
    expect(JSON.stringify(sub.allocation_pools)).toContain("10.0.0.2");

    const port = (await os(["port", "create", "--network", "net1", "port1", "-f", "json"])).json() as Row;
    expect(port).toMatchObject({ name: "port1", network_id: net.id, status: "DOWN" });
    expect(String(port.mac_address)).toMatch(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    expect(JSON.stringify(port.fixed_ips)).toContain("10.0.0.3");
    const fixed = (await os(["port", "create", "--network", "net1", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.77", "port2", "-f", "json"])).json() as Row;
    expect(JSON.stringify(fixed.fixed_ips)).toContain("10.0.0.77");
    await expect(os(["port", "create", "--network", "net1", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.77", "port3"])).rejects.toThrow(/10\.0\.0\.77.*in use|IpAddressAlreadyAllocated|Conflict/is);
    expect(g.store.list(IPALLOC).map((r) => r.ip).sort()).toEqual(["10.0.0.3", "10.0.0.77"]);

    const nets = (await os(["network", "list", "-f", "json"])).json() as Row[];
    expect(nets).toEqual([expect.objectContaining({ Name: "net1", ID: net.id, Subnets: [sub.id] })]);
    const ports = (await os(["port", "list", "-f", "json"])).json() as Row[];
    expect(ports.map((p) => p.Name).sort()).toEqual(["port1", "port2"]);
    const filtered = (await os(["port", "list", "--fixed-ip", "ip-address=10.0.0.77", "-f", "json"])).json() as Row[];
    expect(filtered.map((p) => p.Name)).toEqual(["port2"]);

    const sg = (await os(["security", "group", "create", "--description", "web servers", "web", "-f", "json"])).json() as Row;
    expect(sg).toMatchObject({ name: "web", description: "web servers" });
    const rule = (await os(["security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--remote-ip", "0.0.0.0/0", "web", "-f", "json"])).json() as Row;
    expect(rule).toMatchObject({ protocol: "tcp", port_range_min: 22, port_range_max: 22, direction: "ingress", security_group_id: sg.id });
    expect(rule.ether_type ?? rule.ethertype, JSON.stringify(rule)).toBe("IPv4");
    const groups = (await os(["security", "group", "list", "-f", "json"])).json() as Row[];
    expect(groups.map((x) => x.Name).sort()).toEqual(["default", "web"]);
    const rules = (await os(["security", "group", "rule", "list", "web", "-f", "json"])).json() as Row[];
    expect(rules.some((r) => r["IP Protocol"] === "tcp" && String(r["Port Range"]).includes("22"))).toBe(true);

    await expect(os(["network", "delete", "net1"])).rejects.toThrow(/ports still in use|NetworkInUse|409|Failed to delete/is);
    await os(["security", "group", "rule", "delete", String(rule.id)]);
    await os(["security", "group", "delete", "web"]);
    await os(["port", "delete", "port1", "port2"]);
    expect(g.store.list(IPALLOC)).toEqual([]);
    await os(["subnet", "delete", "sub1"]);
    await os(["network", "delete", "net1"]);
    expect((await os(["network", "list", "-f", "json"])).json()).toEqual([]);
  }, 240_000);
});
