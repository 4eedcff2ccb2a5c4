// The bridge+VXLAN network driver for real: two network namespaces as two hosts joined by a veth
// underlay, "fake VM" namespaces whose veth host ends sit on the tenant bridges, dnsmasq answering
// busybox udhcpc. Needs root (CI runs as root).

import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeVxlanDriver } from "../drivers/network/bridge-vxlan.ts";
import { NetworkChangeError, NetworkNotFoundError } from "../drivers/network/errors.ts";
import type { NetworkDriver } from "../drivers/network/interface.ts";
import { localRunner, type Runner } from "../drivers/run.ts";
import { allocateVni } from "../protocol/vni.ts";
import { startTapResponder } from "./helpers/netns-tap.ts";
import { createLab, listNamespaces, nsCode, sh, type Lab } from "./helpers/netns.ts";

const vniA = allocateVni("net-a", []);
const vniB = allocateVni("net-b", [{ networkId: "net-a", vni: vniA }]);
const MAC = { g1a: "52:54:00:aa:00:11", g2a: "52:54:00:aa:00:12", g2b: "52:54:00:bb:00:13", stranger: "52:54:00:cc:00:99" };

/** A runner that records every command and can be told to fail one. */
function recording(inner: Runner) {
  const calls: string[] = [];
  let failOn: RegExp | undefined;
  const runner: Runner = {
    async run(cmd, args, opts) {
      const line = `${cmd} ${args.join(" ")}`;
      calls.push(line);
      if (failOn?.test(line)) throw new Error(`injected failure: ${line}`);
      return inner.run(cmd, args, opts);
    },
  };
  return { runner, calls, failNext: (re: RegExp | undefined) => (failOn = re) };
}
const isRead = (line: string) => / -j /.test(` ${line} `) || line.startsWith("sysctl -n ");

/** Everything the driver controls in one host namespace, without counters, timers or ifindexes. */
async function snapshot(ns: string) {
  const links = JSON.parse(await sh("ip", ["-n", ns, "-j", "-d", "link", "show"])) as Array<Record<string, any>>;
  const out: unknown[] = [];
  for (const l of links.sort((a, b) => String(a.ifname).localeCompare(String(b.ifname)))) {
    const d = l.linkinfo?.info_data ?? {};
    out.push({
      ifname: l.ifname, kind: l.linkinfo?.info_kind, mtu: l.mtu, master: l.master, flags: [...l.flags].sort(), address: l.address,
      alias: l.ifalias, addrgen: l.inet6_addr_gen_mode, vni: d.id, local: d.local, dev: d.link, port: d.port, learning: d.learning, tap: d.type,
    });
    if (l.linkinfo?.info_kind === "vxlan") {
      const fdb = JSON.parse(await sh("ip", ["netns", "exec", ns, "bridge", "-j", "fdb", "show", "dev", l.ifname])) as Array<{ mac: string; dst?: string }>;
      out.push({ fdb: l.ifname, entries: fdb.filter((e) => e.dst).map((e) => `${e.mac}>${e.dst}`).sort() });
    }
    if (l.linkinfo?.info_kind === "bridge") out.push({ addrs: l.ifname, v: await sh("ip", ["-n", ns, "-br", "addr", "show", "dev", l.ifname]) });
  }
  return out;
}

async function link(ns: string, name: string): Promise<Record<string, any> | undefined> {
  const r = await nsCode(ns, "ip", ["-j", "-d", "link", "show", "dev", name]);
  return r.code === 0 ? (JSON.parse(r.stdout) as Array<Record<string, any>>)[0] : undefined;
}

const ping = (ns: string, ip: string, extra: string[] = []) => nsCode(ns, "ping", ["-c", "2", "-i", "0.2", "-W", "1", ...extra, ip]);

describe("bridge+VXLAN network driver across two namespace hosts", () => {
  let lab: Lab;
  let dir: string;
  const rec: Array<ReturnType<typeof recording>> = [];
  const drv: NetworkDriver[] = [];
  const g: Record<string, string> = {};

  /** The whole desired state of both hosts, as the reconciler would apply it. */
  async function applyAll() {
    for (let i = 0; i < 2; i++) {
      for (const [networkId, vni] of [["net-a", vniA], ["net-b", vniB]] as const) {
        await drv[i].ensureNetwork({ networkId, vni, underlayDev: lab.underlay[i], localIp: lab.vteps[i] });
        await drv[i].syncFdb(networkId, [lab.vteps[1 - i]]);
      }
    }
    await drv[0].ensurePort({ portId: "port-g1a", networkId: "net-a", mac: MAC.g1a, tapName: "psv-g1a", kind: "existing" });
    await drv[1].ensurePort({ portId: "port-g2a", networkId: "net-a", mac: MAC.g2a, tapName: "psv-g2a", kind: "existing" });
    await drv[1].ensurePort({ portId: "port-g2b", networkId: "net-b", mac: MAC.g2b, tapName: "psv-g2b", kind: "existing" });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "psnet-drv-"));
    lab = await createLab("drv");
    for (let i = 0; i < 2; i++) {
      rec.push(recording(localRunner));
      drv.push(bridgeVxlanDriver({ runner: rec[i].runner, netns: lab.hosts[i], stateDir: join(dir, `h${i + 1}`) }));
    }
    g.g1a = await lab.addGuest({ name: "g1a", host: lab.hosts[0], hostIf: "psv-g1a", mac: MAC.g1a, cidr: "10.50.0.11/24", mtu: 1450 });
    g.g2a = await lab.addGuest({ name: "g2a", host: lab.hosts[1], hostIf: "psv-g2a", mac: MAC.g2a, cidr: "10.50.0.12/24", mtu: 1450 });
    g.g2b = await lab.addGuest({ name: "g2b", host: lab.hosts[1], hostIf: "psv-g2b", mac: MAC.g2b, cidr: "10.50.0.13/24", mtu: 1450 });
    await applyAll();
  });

  afterAll(async () => {
    for (const d of drv) await d.teardown().catch(() => {});
    await lab?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("a guest on host 1 reaches a guest on host 2 over VXLAN, with full 1450-byte frames", async () => {
    expect((await ping(g.g1a, "10.50.0.12")).code).toBe(0);
    expect((await ping(g.g2a, "10.50.0.11", ["-M", "do", "-s", "1422"])).code).toBe(0); // 1422 + 28 = 1450
  });

  it("a guest on another network (other VNI) reaches neither", async () => {
    expect((await ping(g.g2b, "10.50.0.11")).code).not.toBe(0); // across hosts
    expect((await ping(g.g2b, "10.50.0.12")).code).not.toBe(0); // same host, other bridge
  });

  it("sets MTU underlay − 50 = 1450 on the VXLAN device, bridge and ports; nolearning, port 4789", async () => {
    const vx = await link(lab.hosts[0], `psvx-${vniA}`);
    expect(vx?.mtu).toBe(1450);
    expect(vx?.linkinfo.info_data).toMatchObject({ id: vniA, local: "10.200.0.1", link: "psu1", port: 4789, learning: false });
    expect(vx?.master).toBe(`psbr-${vniA}`);
    expect((await link(lab.hosts[0], `psbr-${vniA}`))?.mtu).toBe(1450);
    expect((await link(lab.hosts[0], "psv-g1a"))?.mtu).toBe(1450);
    expect((await sh("ip", ["netns", "exec", lab.hosts[0], "sysctl", "-n", `net.ipv4.conf.psbr-${vniA}.forwarding`])).trim()).toBe("0");
    expect(await drv[0].listNetworks()).toEqual(expect.arrayContaining([{ networkId: "net-a", vni: vniA, bridge: `psbr-${vniA}`, vxlan: `psvx-${vniA}`, mtu: 1450 }]));
  });

  it("is idempotent: a second full pass issues no changing command and leaves ip -j state identical", async () => {
    const before = [await snapshot(lab.hosts[0]), await snapshot(lab.hosts[1])];
    const from = rec.map((r) => r.calls.length);
    await applyAll();
    const writes = rec.flatMap((r, i) => r.calls.slice(from[i]).filter((c) => !isRead(c)));
    expect(writes).toEqual([]);
    expect([await snapshot(lab.hosts[0]), await snapshot(lab.hosts[1])]).toEqual(before);
  });

  it("concurrent calls for the same objects are serialised and converge", async () => {
    const spec = { networkId: "net-d", vni: 4343, underlayDev: "psu1", localIp: "10.200.0.1" };
    const port = { portId: "port-d", networkId: "net-d", mac: "52:54:00:dd:00:0d", tapName: "pstap-d" };
    const r = await Promise.all([drv[0].ensureNetwork(spec), drv[0].ensureNetwork(spec), drv[0].ensurePort(port), drv[0].ensurePort(port), drv[0].syncFdb("net-d", ["10.200.0.2"])]);
    expect(r[0]).toEqual(r[1]);
    expect((await link(lab.hosts[0], "pstap-d"))?.master).toBe("psbr-4343");
    await Promise.all([drv[0].deletePort("port-d"), drv[0].deleteNetwork("net-d"), drv[0].deleteNetwork("net-d")]);
    expect(await link(lab.hosts[0], "psbr-4343")).toBeUndefined();
    expect(await link(lab.hosts[0], "pstap-d")).toBeUndefined();
  });

  it("fixes devices in the wrong state (detached, down, wrong MTU, re-created with learning)", async () => {
    const h1 = lab.hosts[0];
    const before = await snapshot(h1);
    await sh("ip", ["-n", h1, "link", "set", `psvx-${vniB}`, "nomaster"]);
    await sh("ip", ["-n", h1, "link", "set", `psbr-${vniB}`, "down", "mtu", "1400"]);
    await sh("ip", ["-n", h1, "link", "set", "psv-g1a", "nomaster"]);
    await sh("ip", ["-n", h1, "link", "del", `psvx-${vniA}`]);
    await sh("ip", ["-n", h1, "link", "add", `psvx-${vniA}`, "type", "vxlan", "id", String(vniA), "dstport", "4789", "local", "10.200.0.1", "dev", "psu1"]);
    expect((await ping(g.g1a, "10.50.0.12")).code).not.toBe(0);
    await applyAll();
    // A re-created VXLAN device has a new random MAC (and the bridge may follow it); all else is restored.
    const noMac = (s: unknown[]) => s.map((x: any) => (x.kind === "vxlan" || x.kind === "bridge" ? { ...x, address: undefined } : x));
    expect(noMac(await snapshot(h1))).toEqual(noMac(before));
    expect((await ping(g.g1a, "10.50.0.12")).code).toBe(0);
  });

  it("syncFdb makes the flood list exactly the given remote VTEPs", async () => {
    const fdb = async () => (await snapshot(lab.hosts[0])).find((x: any) => x.fdb === `psvx-${vniA}`) as { entries: string[] };
    expect(await drv[0].syncFdb("net-a", ["10.200.0.2", "10.200.0.7", "10.200.0.8"])).toEqual({ added: ["10.200.0.7", "10.200.0.8"], removed: [] });
    expect((await fdb()).entries).toEqual(["00:00:00:00:00:00>10.200.0.2", "00:00:00:00:00:00>10.200.0.7", "00:00:00:00:00:00>10.200.0.8"]);
    expect(await drv[0].syncFdb("net-a", ["10.200.0.8"])).toEqual({ added: [], removed: ["10.200.0.2", "10.200.0.7"] });
    expect((await fdb()).entries).toEqual(["00:00:00:00:00:00>10.200.0.8"]);
    expect((await ping(g.g1a, "10.50.0.12")).code).not.toBe(0); // host 2 is no longer in the flood list
    expect(await drv[0].syncFdb("net-a", ["10.200.0.2"])).toEqual({ added: ["10.200.0.2"], removed: ["10.200.0.8"] });
    expect(await drv[0].syncFdb("net-a", ["10.200.0.2"])).toEqual({ added: [], removed: [] });
    expect((await ping(g.g1a, "10.50.0.12")).code).toBe(0);
    await expect(drv[0].syncFdb("net-zzz", [])).rejects.toBeInstanceOf(NetworkNotFoundError);
  });

  it("full l2population (arpProxy): unicast FDB and ARP-proxy entries alone carry traffic (empty flood lists), exactly", async () => {
    const proxied = lab.hosts.map((h, i) => bridgeVxlanDriver({ runner: localRunner, netns: h, stateDir: join(dir, `h${i + 1}`), arpProxy: true }));
    for (let i = 0; i < 2; i++) await proxied[i].ensureNetwork({ networkId: "net-a", vni: vniA, underlayDev: lab.underlay[i], localIp: lab.vteps[i] });
    expect((await link(lab.hosts[0], `psvx-${vniA}`))?.linkinfo.info_data.proxy).toBe(true);
    for (let i = 0; i < 2; i++) await drv[i].syncFdb("net-a", []);
    for (const ns of [g.g1a, g.g2a]) await sh("ip", ["-n", ns, "neigh", "flush", "all"]);
    expect((await ping(g.g1a, "10.50.0.12")).code).not.toBe(0); // nothing is flooded any more
    const toH2 = [{ mac: MAC.g2a, ip: "10.50.0.12", vtep: "10.200.0.2" }];
    expect(await drv[0].syncRemotePorts("net-a", toH2)).toEqual({ added: [`${MAC.g2a}>10.200.0.2`, `10.50.0.12=${MAC.g2a}`], removed: [] });
    expect((await ping(g.g1a, "10.50.0.12")).code).not.toBe(0); // host 2 does not know the way back yet
    await drv[1].syncRemotePorts("net-a", [{ mac: MAC.g1a, ip: "10.50.0.11", vtep: "10.200.0.1" }]);
    expect((await ping(g.g1a, "10.50.0.12")).code).toBe(0);
    expect(await drv[0].syncRemotePorts("net-a", toH2)).toEqual({ added: [], removed: [] });
    // A port that moved to another host: its entries follow it.
    expect(await drv[0].syncRemotePorts("net-a", [{ mac: MAC.g2a, ip: "10.50.0.12", vtep: "10.200.0.9" }])).toEqual({
      added: [`${MAC.g2a}>10.200.0.9`],
      removed: [`${MAC.g2a}>10.200.0.2`],
    });
    expect(await drv[0].syncRemotePorts("net-a", [])).toEqual({ added: [], removed: [`${MAC.g2a}>10.200.0.9`, `10.50.0.12=${MAC.g2a}`] });
    expect(JSON.parse(await sh("ip", ["-n", lab.hosts[0], "-j", "neigh", "show", "dev", `psvx-${vniA}`]))).toEqual([]);
    await drv[1].syncRemotePorts("net-a", []);
    await applyAll(); // back to flood-and-learn ARP: the VXLAN devices are re-created without proxy
    expect((await link(lab.hosts[0], `psvx-${vniA}`))?.linkinfo.info_data.proxy).toBeUndefined();
    expect((await ping(g.g1a, "10.50.0.12")).code).toBe(0);
  });

  it("creates a real tap for a QEMU port: persistent tap, on the bridge, up, MAC fe:…, MTU 1450; deletes it idempotently", async () => {
    const h1 = lab.hosts[0];
    const port = { portId: "port-vm1", networkId: "net-a", mac: "52:54:00:dd:00:01", tapName: "pstap-vm1" };
    expect(await drv[0].ensurePort(port)).toEqual({ ...port, bridge: `psbr-${vniA}`, mtu: 1450 });
    const tap = await link(h1, "pstap-vm1");
    expect(tap?.linkinfo).toMatchObject({ info_kind: "tun", info_data: { type: "tap", persist: true } });
    expect(tap?.master).toBe(`psbr-${vniA}`);
    expect(tap?.flags).toContain("UP"); // administratively up; carrier comes when QEMU opens it
    expect(tap?.address).toBe("fe:54:00:dd:00:01");
    expect(tap?.mtu).toBe(1450);
    expect(await drv[0].listPorts()).toEqual(expect.arrayContaining([{ ...port, bridge: `psbr-${vniA}`, mtu: 1450 }]));
    const n = rec[0].calls.length;
    await drv[0].ensurePort(port);
    expect(rec[0].calls.slice(n).filter((c) => !isRead(c))).toEqual([]);
    // For an unprivileged QEMU the tap belongs to its user: a change of owner re-creates the idle tap.
    await drv[0].ensurePort({ ...port, owner: "nobody" });
    expect((await link(h1, "pstap-vm1"))?.linkinfo.info_data.user).toBe("nobody");
    expect((await link(h1, "pstap-vm1"))?.master).toBe(`psbr-${vniA}`);
    await drv[0].deletePort("port-vm1");
    expect(await link(h1, "pstap-vm1")).toBeUndefined();
    await drv[0].deletePort("port-vm1");
  });

  it("the real tap carries traffic once a process opens it as QEMU does: host 2 pings its 'guest' over VXLAN", async () => {
    const h1 = lab.hosts[0];
    const port = { portId: "port-vm3", networkId: "net-a", mac: "52:54:00:dd:00:03", tapName: "pstap-vm3" };
    await drv[0].ensurePort(port);
    expect((await link(h1, "pstap-vm3"))?.flags).toContain("NO-CARRIER");
    const nic = await startTapResponder({ ns: h1, tap: "pstap-vm3", mac: port.mac, ip: "10.50.0.40", dir });
    try {
      const tap = await link(h1, "pstap-vm3");
      expect(tap?.flags).toContain("LOWER_UP");
      expect(tap?.operstate).toBe("UP");
      expect((await ping(g.g2a, "10.50.0.40")).code).toBe(0); // h2 guest → VXLAN → h1 bridge → tap → "guest"
      expect((await ping(g.g2a, "10.50.0.40", ["-M", "do", "-s", "1422"])).code).toBe(0);
      expect((await ping(g.g2b, "10.50.0.40")).code).not.toBe(0); // other network
    } finally {
      await nic.stop();
    }
    await drv[0].deletePort("port-vm3");
    expect(await link(h1, "pstap-vm3")).toBeUndefined();
  });

  it("rolls back a half-made port when a step fails", async () => {
    rec[0].failNext(/ master psbr-/);
    try {
      await expect(drv[0].ensurePort({ portId: "port-vm2", networkId: "net-a", mac: "52:54:00:dd:00:02", tapName: "pstap-vm2" })).rejects.toBeInstanceOf(NetworkChangeError);
    } finally {
      rec[0].failNext(undefined);
    }
    expect(rec[0].calls).toContain("ip tuntap add dev pstap-vm2 mode tap");
    expect(await link(lab.hosts[0], "pstap-vm2")).toBeUndefined();
  });

  it("rolls back a half-made network when a step fails", async () => {
    rec[0].failNext(/type vxlan/);
    try {
      await expect(drv[0].ensureNetwork({ networkId: "net-c", vni: 4242, underlayDev: "psu1", localIp: "10.200.0.1" })).rejects.toBeInstanceOf(NetworkChangeError);
    } finally {
      rec[0].failNext(undefined);
    }
    expect(rec[0].calls).toContain("ip link add name psbr-4242 type bridge stp_state 0");
    expect(await link(lab.hosts[0], "psbr-4242")).toBeUndefined();
    expect((await drv[0].listNetworks()).map((n) => n.networkId).sort()).toEqual(["net-a", "net-b"]);
  });

  it("dnsmasq hands each local port its static lease (MTU option), ignores others, reloads on change", async () => {
    const script = join(dir, "udhcpc.sh");
    await writeFile(script, '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND ip=$ip mtu=$mtu server=$serverid router=$router"\nexit 0\n');
    await chmod(script, 0o755);
    // Up to 6 DISCOVERs a second apart (a loaded machine may answer slowly); 3 where none must come.
    const dhcp = (ns: string, tries = 6) => nsCode(ns, "busybox", ["udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", String(tries), "-T", "1", "-O", "mtu", "-s", script], 20_000);
    const base = { networkId: "net-a", cidr: "10.50.0.0/24", gateway: "10.50.0.1" };
    await drv[0].ensureDhcp({ ...base, serverIp: "10.50.0.2", leases: [{ mac: MAC.g1a, ip: "10.50.0.21", hostname: "vm-g1a" }] });
    await drv[1].ensureDhcp({ ...base, serverIp: "10.50.0.3", leases: [{ mac: MAC.g2a, ip: "10.50.0.22", hostname: "vm-g2a" }] });
    // Both servers hear every DISCOVER over VXLAN; only the host with the port answers.
    expect((await dhcp(g.g1a)).stdout).toContain("BOUND ip=10.50.0.21 mtu=1450 server=10.50.0.2 router=10.50.0.1");
    expect((await dhcp(g.g2a)).stdout).toContain("BOUND ip=10.50.0.22 mtu=1450 server=10.50.0.3 router=10.50.0.1");
    const stranger = await lab.addGuest({ name: "g1x", host: lab.hosts[0], hostIf: "psv-g1x", mac: MAC.stranger, mtu: 1450 });
    await drv[0].ensurePort({ portId: "port-g1x", networkId: "net-a", mac: MAC.stranger, tapName: "psv-g1x", kind: "existing" });
    expect((await dhcp(stranger, 3)).code).not.toBe(0);
    // The same spec again changes nothing; a lease change is a reload (same process) and is served.
    const pid = (await sh("cat", [join(dir, "h1", `dnsmasq-psbr-${vniA}`, "pid")])).trim();
    const n = rec[0].calls.length;
    await drv[0].ensureDhcp({ ...base, serverIp: "10.50.0.2", leases: [{ mac: MAC.g1a, ip: "10.50.0.21", hostname: "vm-g1a" }] });
    await drv[0].ensureDhcp({ ...base, serverIp: "10.50.0.2", leases: [{ mac: MAC.g1a, ip: "10.50.0.31", hostname: "vm-g1a" }, { mac: MAC.stranger, ip: "10.50.0.32", hostname: "vm-g1x" }] });
    expect(rec[0].calls.slice(n).filter((c) => !isRead(c))).toEqual([]);
    expect((await sh("cat", [join(dir, "h1", `dnsmasq-psbr-${vniA}`, "pid")])).trim()).toBe(pid);
    expect((await dhcp(g.g1a)).stdout).toContain("BOUND ip=10.50.0.31 mtu=1450");
    expect((await dhcp(stranger)).stdout).toContain("BOUND ip=10.50.0.32 mtu=1450");
    // Another network with the same (overlapping) subnet and even the same server address on host 2.
    await drv[1].ensureDhcp({ ...base, networkId: "net-b", serverIp: "10.50.0.3", leases: [{ mac: MAC.g2b, ip: "10.50.0.23", hostname: "vm-g2b" }] });
    expect((await dhcp(g.g2b)).stdout).toContain("BOUND ip=10.50.0.23 mtu=1450 server=10.50.0.3");
    expect((await dhcp(g.g2a)).stdout).toContain("BOUND ip=10.50.0.22 mtu=1450 server=10.50.0.3");
    // The host's DHCP address answers DHCP only: no ping (the nftables guard).
    expect((await ping(g.g1a, "10.50.0.2")).code).not.toBe(0);
    expect(await sh("ip", ["netns", "exec", lab.hosts[0], "nft", "list", "table", "inet", "peerstack_net"])).toContain('iifname "psbr-*" udp dport 67 accept');
  });

  it("moves a network's ports to its new devices when its VNI is re-resolved", async () => {
    const vniA2 = vniA === 4100 ? 4101 : 4100;
    for (let i = 0; i < 2; i++) {
      await drv[i].ensureNetwork({ networkId: "net-a", vni: vniA2, underlayDev: lab.underlay[i], localIp: lab.vteps[i] });
      await drv[i].syncFdb("net-a", [lab.vteps[1 - i]]);
    }
    expect(await link(lab.hosts[0], `psbr-${vniA}`)).toBeUndefined();
    expect(await link(lab.hosts[0], `psvx-${vniA}`)).toBeUndefined();
    expect((await link(lab.hosts[0], "psv-g1a"))?.master).toBe(`psbr-${vniA2}`);
    expect((await link(lab.hosts[1], "psv-g2a"))?.master).toBe(`psbr-${vniA2}`);
    expect(await sh("sh", ["-c", `ps -eo args | grep '[d]nsmasq-psbr-${vniA}/' || true`])).toBe(""); // the old bridge's dnsmasq is gone
    expect((await ping(g.g1a, "10.50.0.12")).code).toBe(0);
  });

  it("teardown removes every device and dnsmasq it made, idempotently; no namespace is left", async () => {
    for (const d of drv) {
      await d.teardown();
      await d.teardown();
    }
    for (const h of lab.hosts) {
      const names = (JSON.parse(await sh("ip", ["-n", h, "-j", "link", "show"])) as Array<{ ifname: string; master?: string; ifalias?: string }>);
      expect(names.filter((l) => /^ps(br|vx|tap)-/.test(l.ifname) || l.master || l.ifalias)).toEqual([]);
    }
    expect(await sh("sh", ["-c", `ps -eo args | grep '[d]nsmasq --conf-file=${dir}' || true`])).toBe("");
    expect((await readdir(join(dir, "h1"))).filter((f) => f.startsWith("dnsmasq-"))).toEqual([]);
    expect(await drv[0].listNetworks()).toEqual([]);
    expect((await nsCode(lab.hosts[0], "nft", ["list", "table", "inet", "peerstack_net"])).code).not.toBe(0);
    await lab.destroy();
    expect(await listNamespaces("psnet-drv-")).toEqual([]);
  });
});
