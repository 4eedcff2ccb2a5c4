// Security groups enforced for real: one namespace host with a bridge (the bridge/VXLAN driver) and
// two veth "guests" on it whose host ends carry the ports' tap names; the ports, groups and rules
// are made through the Neutron API (fastify inject over a real CRDT store); the real enforcer
// compiles the ruleset and loads it with the real nft inside the host namespace. Ping and TCP are
// blocked by default, pass after a rule create, are blocked again after its delete; a guest that
// takes another source IP is cut off; port_security_enabled=false lets everything through.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testGateway, type TestGateway } from "../api-gateway/testing/fixture.ts";
import { bridgeVxlanDriver } from "../drivers/network/bridge-vxlan.ts";
import type { NetworkDriver } from "../drivers/network/interface.ts";
import { nftSecgroupTable } from "../drivers/network/secgroup-table.ts";
import { localRunner } from "../drivers/run.ts";
import { secgroupEnforcer, type SecgroupEnforcer } from "../node/reconciler/secgroups.ts";
import { systemClock } from "../node/runtime/system.ts";
import { tapNameFor } from "../protocol/records.ts";
import { createLab, nsCode, sh, type Lab } from "./helpers/netns.ts";

let lab: Lab;
let dir: string;
let g: TestGateway;
let token: string;
let drv: NetworkDriver;
let enforcer: SecgroupEnforcer;
let server: ChildProcess | undefined;
const guests: Record<string, { ns: string; ip: string; port: Record<string, any> }> = {};
let groupId: string;

async function call(method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown) {
  const res = await g.app.inject({ method, url: `/networking/v2.0${url}`, payload: payload as object, headers: { "x-auth-token": token } });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const loaded = async (ruleId: string) => (await sh("ip", ["netns", "exec", lab.hosts[0], "nft", "list", "table", "inet", "peerstack_sg"])).includes(ruleId);
const ping = async (from: string, to: string) => (await nsCode(guests[from]!.ns, "ping", ["-c", "1", "-W", "1", guests[to]!.ip])).code === 0;
const connectPy = (ip: string) => `import socket,sys\ns=socket.socket();s.settimeout(1)\ntry:\n s.connect(("${ip}",8080));sys.exit(0)\nexcept Exception:\n sys.exit(1)`;
const tcp = async (from: string, to: string) => (await nsCode(guests[from]!.ns, "python3", ["-c", connectPy(guests[to]!.ip)])).code === 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pssg-"));
  lab = await createLab("sg");
  g = await testGateway({ clock: systemClock });
  token = await g.token();
  const net = (await call("POST", "/networks", { network: { name: "sgnet" } })).body.network;
  await call("POST", "/subnets", { subnet: { network_id: net.id, cidr: "10.62.0.0/24", ip_version: 4, name: "s" } });
  const sg = await call("POST", "/security-groups", { security_group: { name: "web" } });
  expect(sg.status).toBe(201);
  groupId = sg.body.security_group.id;
  drv = bridgeVxlanDriver({ runner: localRunner, netns: lab.hosts[0], stateDir: join(dir, "h1") });
  await drv.ensureNetwork({ networkId: net.id, vni: 7411, underlayDev: lab.underlay[0], localIp: lab.vteps[0] });
  for (const name of ["a", "b"]) {
    const created = await call("POST", "/ports", { port: { network_id: net.id, security_groups: [groupId], "binding:host_id": g.store.hlc.node } });
    expect(created.status).toBe(201);
    const port = created.body.port;
    const ip = port.fixed_ips[0].ip_address as string;
    const tap = tapNameFor(port.id);
    const ns = await lab.addGuest({ name, host: lab.hosts[0], hostIf: tap, mac: port.mac_address, cidr: `${ip}/24`, mtu: 1450 });
    await drv.ensurePort({ portId: port.id, networkId: net.id, mac: port.mac_address, tapName: tap, kind: "existing" });
    guests[name] = { ns, ip, port };
  }
  server = spawn("ip", ["netns", "exec", guests.b!.ns, "python3", "-m", "http.server", "8080", "--bind", guests.b!.ip], { stdio: "ignore" });
  enforcer = secgroupEnforcer({ debounceMs: 20 })({ self: g.store.hlc.node, clock: systemClock, store: g.store, table: nftSecgroupTable({ runner: localRunner, netns: lab.hosts[0], stateDir: join(dir, "sg") }) });
  await enforcer.start();
}, 120_000);

afterAll(async () => {
  server?.kill();
  await enforcer?.stop();
  await drv?.teardown().catch(() => {});
  await g?.close();
  await lab?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("security groups in nftables on the owner host", () => {
  it("the ruleset is loaded in the host namespace", async () => {
    const tables = await sh("ip", ["netns", "exec", lab.hosts[0], "nft", "list", "tables"]);
    expect(tables).toContain("table bridge peerstack_sg");
    expect(tables).toContain("table inet peerstack_sg");
  });

  it("ping and TCP are blocked by default, pass after a rule create (< 1 s), are blocked after its delete; replies pass", async () => {
    expect(await ping("a", "b")).toBe(false);
    expect(await tcp("a", "b")).toBe(false);
    const icmp = await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: groupId, direction: "ingress", protocol: "icmp" } });
    expect(icmp.status).toBe(201);
    // enforcement time: API answer to the rule being in the kernel (a probe in flight would add its own 1 s timeout)
    const icmpMs = await until("icmp rule loaded", () => loaded(icmp.body.security_group_rule.id));
    expect(icmpMs).toBeLessThan(1_000);
    expect(await ping("a", "b")).toBe(true);
    expect(await ping("b", "a")).toBe(true); // same group: both ports allow ICMP in; egress-all lets the replies out
    expect(await tcp("a", "b")).toBe(false); // only ICMP was opened
    const web = await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: groupId, direction: "ingress", protocol: "tcp", port_range_min: 8080, port_range_max: 8080, remote_ip_prefix: `${guests.a!.ip}/32` } });
    expect(web.status).toBe(201);
    const tcpMs = await until("tcp rule loaded", () => loaded(web.body.security_group_rule.id));
    expect(tcpMs).toBeLessThan(1_000);
    expect(await tcp("a", "b")).toBe(true);
    expect(await ping("b", "a")).toBe(true);
    expect(await tcp("b", "a")).toBe(false); // a has no such rule (and no listener: the SYN is dropped before it)
    console.log(`rule create -> enforced: icmp ${icmpMs} ms, tcp ${tcpMs} ms (API answer to the rule in the kernel)`);
    expect((await call("DELETE", `/security-group-rules/${web.body.security_group_rule.id}`)).status).toBe(204);
    await until("tcp blocked again", async () => !(await tcp("a", "b")));
    expect((await call("DELETE", `/security-group-rules/${icmp.body.security_group_rule.id}`)).status).toBe(204);
    await until("ping blocked again", async () => !(await ping("a", "b")));
  }, 60_000);

  it("a guest that sends from another IP is cut off", async () => {
    const icmp = await call("POST", "/security-group-rules", { security_group_rule: { security_group_id: groupId, direction: "ingress", protocol: "icmp" } });
    expect(icmp.status).toBe(201);
    await until("ping allowed", () => ping("a", "b"));
    const a = guests.a!;
    await sh("ip", ["-n", a.ns, "addr", "flush", "dev", "eth0"]);
    await sh("ip", ["-n", a.ns, "addr", "add", "10.62.0.250/24", "dev", "eth0"]);
    expect(await ping("a", "b")).toBe(false);
    await sh("ip", ["-n", a.ns, "addr", "flush", "dev", "eth0"]);
    await sh("ip", ["-n", a.ns, "addr", "add", `${a.ip}/24`, "dev", "eth0"]);
    await until("ping with its own IP again", () => ping("a", "b"));
    await call("DELETE", `/security-group-rules/${icmp.body.security_group_rule.id}`);
  }, 60_000);

  it("port_security_enabled=false (with no groups) lets the port's traffic through", async () => {
    expect(await tcp("a", "b")).toBe(false);
    const upd = await call("PUT", `/ports/${guests.b!.port.id}`, { port: { security_groups: [], port_security_enabled: false } });
    expect(upd.status).toBe(200);
    await until("tcp open on an unprotected port", () => tcp("a", "b"));
  }, 60_000);
});
