// Tenant networks as Linux bridge + VXLAN (like Neutron's linuxbridge agent with l2population):
// per network a bridge `psbr-<vni>` and a VXLAN device `psvx-<vni>` (nolearning, static flood list
// toward the other hosts with ports on the network); per port a tap on the bridge.
// The driver keeps no state of its own: device aliases record which network/port a device is,
// so a restarted agent finds everything again. Every call is idempotent and converges.

import { mkdir } from "node:fs/promises";
import type { Runner } from "../run.ts";
import { Revert } from "../revert.ts";
import type { RemotePort, DhcpSpec, NetworkDriver, NetworkSpec, NetworkState, PortSpec, PortState } from "./interface.ts";
import { IpCli, type LinkInfo } from "./ip-cli.ts";
import { NetworkChangeError, NetworkInvalidError, NetworkNameInUseError, NetworkNotFoundError, UnderlayError } from "./errors.ts";
import { Dnsmasq } from "./dnsmasq.ts";
import { syncFloodList, syncUnicast } from "./fdb.ts";
import { checkIfname, checkIpv4, checkMac, checkVni } from "./validate.ts";
import { Guard } from "./guard.ts";

export interface BridgeVxlanOptions {
  runner: Runner;
  /** Run every command inside this network namespace (several "hosts" on one machine). */
  netns?: string;
  /** Where the dnsmasq configs, hosts files, leases and pid files live. */
  stateDir: string;
  /**
   * ARP responder on the VXLAN devices (Neutron's l2population arp_responder): ARP requests are
   * answered from the entries syncRemotePorts installs and never flooded — so every remote port must
   * then be given with its IP. Off by default: ARP goes by the flood list.
   */
  arpProxy?: boolean;
  /** VXLAN UDP port (IANA 4789). */
  dstPort?: number;
  timeoutMs?: number;
}

const NET_ALIAS = "ps-net:";
const TAP_ALIAS = "ps-port:";
const ATTACHED_ALIAS = "ps-xport:"; // an existing interface we attached (not ours to delete)
const VXLAN_OVERHEAD = 50;

export const bridgeName = (vni: number) => `psbr-${vni}`;
export const vxlanName = (vni: number) => `psvx-${vni}`;
/** The tap's own MAC: the guest's with the first octet 0xfe (the bridge must not own the guest MAC). */
export const tapMac = (mac: string) => `fe${mac.slice(2)}`;

/** Port devices carry `ps-port:<portId>@<guest mac>` (a tap we own) or `ps-xport:…` (attached only). */
function portAlias(l: LinkInfo): { kind: "tap" | "existing"; portId: string; mac: string } | undefined {
  const a = l.ifalias ?? "";
  const kind = a.startsWith(TAP_ALIAS) ? "tap" : a.startsWith(ATTACHED_ALIAS) ? "existing" : undefined;
  const at = a.lastIndexOf("@");
  if (!kind || at < 0) return undefined;
  return { kind, portId: a.slice((kind === "tap" ? TAP_ALIAS : ATTACHED_ALIAS).length, at), mac: a.slice(at + 1) };
}

const isUp = (l: LinkInfo) => l.flags.includes("UP");
const kindOf = (l: LinkInfo) => l.linkinfo?.info_kind;

export function bridgeVxlanDriver(opts: BridgeVxlanOptions): NetworkDriver {
  const ip = new IpCli(opts.runner, { netns: opts.netns, timeoutMs: opts.timeoutMs });
  const dstPort = opts.dstPort ?? 4789;
  const arpProxy = opts.arpProxy ?? false;
  const dhcp = new Dnsmasq({ runner: opts.runner, netns: opts.netns, stateDir: opts.stateDir, ip });
  const guard = new Guard({ runner: opts.runner, netns: opts.netns, stateDir: opts.stateDir });

  const byName = (links: LinkInfo[], name: string) => links.find((l) => l.ifname === name);
  const bridgeOf = (links: LinkInfo[], networkId: string) =>
    links.find((l) => kindOf(l) === "bridge" && l.ifalias === NET_ALIAS + networkId);
  const vxlanOf = (links: LinkInfo[], networkId: string) =>
    links.find((l) => kindOf(l) === "vxlan" && l.ifalias === NET_ALIAS + networkId);

  function networkState(links: LinkInfo[], br: LinkInfo): NetworkState | undefined {
    const networkId = (br.ifalias ?? "").slice(NET_ALIAS.length);
    const vx = vxlanOf(links, networkId);
    if (!vx) return undefined;
    return { networkId, vni: vx.linkinfo?.info_data?.id ?? 0, bridge: br.ifname, vxlan: vx.ifname, mtu: vx.mtu };
  }

  async function requireNetwork(networkId: string): Promise<{ links: LinkInfo[]; net: NetworkState }> {
    const links = await ip.links();
    const br = bridgeOf(links, networkId);
    const net = br && networkState(links, br);
    if (!net) throw new NetworkNotFoundError(networkId);
    return { links, net };
  }

  /** Brings one device to: alias, addrgenmode none, MTU, master, up — issuing only what differs. */
  async function converge(l: LinkInfo, want: { alias: string; mtu: number; master?: string }): Promise<void> {
    if (l.ifalias !== want.alias) await ip.setAlias(l.ifname, want.alias);
    if (l.inet6_addr_gen_mode !== "none") await ip.setAddrgenNone(l.ifname);
    if (l.mtu !== want.mtu) await ip.setMtu(l.ifname, want.mtu);
    if (want.master !== undefined && l.master !== want.master) await ip.setMaster(l.ifname, want.master);
    if (!isUp(l)) await ip.setState(l.ifname, true);
  }

  async function ensureNetwork(spec: NetworkSpec): Promise<NetworkState> {
    const action = `ensuring network "${spec.networkId}" (VNI ${spec.vni})`;
    checkVni(spec.vni);
    checkIpv4(spec.localIp, action);
    const br = bridgeName(spec.vni);
    const vx = vxlanName(spec.vni);
    const alias = NET_ALIAS + spec.networkId;
    let links = await ip.links();
    const underlay = byName(links, spec.underlayDev);
    if (!underlay) throw new UnderlayError(`${action}: underlay interface "${spec.underlayDev}" does not exist`);
    const addrs = await ip.addrs(spec.underlayDev);
    if (!addrs.some((a) => a.local === spec.localIp)) throw new UnderlayError(`${action}: "${spec.underlayDev}" does not carry ${spec.localIp}`);
    const mtu = spec.mtu ?? underlay.mtu - VXLAN_OVERHEAD;
    for (const name of [br, vx]) {
      const l = byName(links, name);
      if (l?.ifalias?.startsWith(NET_ALIAS) && l.ifalias !== alias) {
        throw new NetworkNameInUseError(`${action}: "${name}" belongs to network "${l.ifalias.slice(NET_ALIAS.length)}"`);
      }
    }
    const previous = bridgeOf(links, spec.networkId); // the network under another VNI (its VNI was re-resolved)
    const undo = new Revert();
    try {
      let b = byName(links, br);
      if (b && kindOf(b) !== "bridge") {
        await ip.deleteLink(br);
        b = undefined;
      }
      if (!b) {
        await ip.addBridge(br);
        undo.add(() => ip.deleteLink(br));
      }
      let v = byName(links, vx);
      const d = v?.linkinfo?.info_data;
      const vxOk = v && kindOf(v) === "vxlan" && d?.id === spec.vni && d.local === spec.localIp && d.link === spec.underlayDev && d.port === dstPort && d.learning === false && (d.proxy ?? false) === arpProxy;
      let keepFdb: Array<{ mac: string; dst: string }> = [];
      let keepNeigh: Array<{ dst: string; lladdr: string }> = [];
      if (v && !vxOk) {
        // Re-created with the right parameters; its flood list, unicast and ARP entries carry over.
        keepFdb = (await ip.fdb(vx)).filter((e) => e.dst).map((e) => ({ mac: e.mac, dst: e.dst! }));
        keepNeigh = (await ip.neighbours(vx)).filter((n) => n.state?.includes("PERMANENT") && n.lladdr).map((n) => ({ dst: n.dst, lladdr: n.lladdr! }));
        await ip.deleteLink(vx);
        v = undefined;
      }
      if (!v) {
        await ip.addVxlan({ name: vx, vni: spec.vni, local: spec.localIp, dev: spec.underlayDev, dstport: dstPort, proxy: arpProxy });
        undo.add(() => ip.deleteLink(vx));
      }
      if (!b || !v) links = await ip.links();
      await converge(byName(links, br)!, { alias, mtu });
      if (await ip.forwarding(br)) await ip.setForwarding(br, false); // the host never routes tenant packets
      await converge(byName(links, vx)!, { alias, mtu, master: br });
      for (const e of keepFdb) await ip.appendFdb(vx, e.mac, e.dst);
      for (const n of keepNeigh) await ip.setNeighbour(vx, n.dst, n.lladdr);
      if (previous && previous.ifname !== br) {
        for (const l of links.filter((x) => x.master === previous.ifname && kindOf(x) !== "vxlan")) await ip.setMaster(l.ifname, br);
        await dhcp.stop(previous.ifname);
        for (const l of links.filter((x) => x.ifalias === alias && x.ifname !== br && x.ifname !== vx)) await ip.deleteLink(l.ifname);
      }
      undo.success();
    } catch (err) {
      await undo.fail();
      throw new NetworkChangeError(action, err);
    }
    return { networkId: spec.networkId, vni: spec.vni, bridge: br, vxlan: vx, mtu };
  }

  async function deleteNetwork(networkId: string): Promise<void> {
    const links = await ip.links();
    const br = bridgeOf(links, networkId);
    if (br) await dhcp.stop(br.ifname);
    for (const l of links.filter((x) => x.ifalias === NET_ALIAS + networkId)) await ip.deleteLink(l.ifname);
  }

  async function ensurePort(spec: PortSpec): Promise<PortState> {
    const action = `ensuring port "${spec.portId}" (${spec.tapName}) on network "${spec.networkId}"`;
    checkIfname(spec.tapName, action);
    checkMac(spec.mac, action);
    const kind = spec.kind ?? "tap";
    const alias = `${kind === "tap" ? TAP_ALIAS : ATTACHED_ALIAS}${spec.portId}@${spec.mac}`;
    const { links, net } = await requireNetwork(spec.networkId);
    let l = byName(links, spec.tapName);
    const owner = l && portAlias(l);
    if (owner && owner.portId !== spec.portId) throw new NetworkNameInUseError(`${action}: "${spec.tapName}" belongs to port "${owner.portId}"`);
    const undo = new Revert();
    try {
      if (kind === "existing") {
        if (!l) throw new NetworkInvalidError(`${action}: interface "${spec.tapName}" does not exist`);
      } else {
        const isTap = l && kindOf(l) === "tun" && l.linkinfo?.info_data?.type === "tap";
        // A tap's owner cannot be changed: re-create it, unless a process (QEMU) holds it now.
        const wrongOwner = isTap && l!.linkinfo?.info_data?.user !== spec.owner && l!.flags.includes("NO-CARRIER");
        if (l && isTap && wrongOwner) {
          await ip.deleteLink(spec.tapName);
          l = undefined;
        }
        if (l && !isTap) {
          if (!owner) throw new NetworkNameInUseError(`${action}: "${spec.tapName}" exists and is not a tap`);
          await ip.deleteLink(spec.tapName);
          l = undefined;
        }
        if (!l) {
          await ip.addTap(spec.tapName, spec.owner);
          undo.add(() => ip.deleteLink(spec.tapName));
          l = byName(await ip.links(), spec.tapName)!;
        }
        if (l.address !== tapMac(spec.mac)) await ip.setAddress(spec.tapName, tapMac(spec.mac));
      }
      await converge(l, { alias, mtu: net.mtu, master: net.bridge });
      undo.success();
    } catch (err) {
      await undo.fail();
      throw new NetworkChangeError(action, err);
    }
    return { portId: spec.portId, networkId: spec.networkId, tapName: spec.tapName, mac: spec.mac, bridge: net.bridge, mtu: net.mtu };
  }

  async function deletePort(portId: string): Promise<void> {
    const links = await ip.links();
    for (const l of links) {
      const p = portAlias(l);
      if (p?.portId !== portId) continue;
      if (p.kind === "tap") await ip.deleteLink(l.ifname);
      else {
        if (l.master) await ip.setNoMaster(l.ifname);
        await ip.setAlias(l.ifname, "");
      }
    }
  }



  async function listNetworks(): Promise<NetworkState[]> {
    const links = await ip.links();
    return links
      .filter((l) => kindOf(l) === "bridge" && l.ifalias?.startsWith(NET_ALIAS))
      .map((b) => networkState(links, b))
      .filter((n): n is NetworkState => n !== undefined);
  }

  async function listPorts(): Promise<PortState[]> {
    const links = await ip.links();
    const out: PortState[] = [];
    for (const l of links) {
      const p = portAlias(l);
      if (!p) continue;
      const br = l.master ? byName(links, l.master) : undefined;
      const networkId = br?.ifalias?.startsWith(NET_ALIAS) ? br.ifalias.slice(NET_ALIAS.length) : "";
      out.push({ portId: p.portId, networkId, tapName: l.ifname, mac: p.mac, bridge: l.master ?? "", mtu: l.mtu });
    }
    return out;
  }

  async function teardown(): Promise<void> {
    await dhcp.stopAll();
    for (const p of await listPorts()) await deletePort(p.portId);
    const links = await ip.links();
    for (const l of links.filter((x) => x.ifalias?.startsWith(NET_ALIAS) && kindOf(x) === "vxlan")) await ip.deleteLink(l.ifname);
    for (const l of links.filter((x) => x.ifalias?.startsWith(NET_ALIAS) && kindOf(x) === "bridge")) await ip.deleteLink(l.ifname);
    await guard.remove();
  }

  async function ensureDhcp(spec: DhcpSpec): Promise<void> {
    const { net } = await requireNetwork(spec.networkId);
    for (const l of spec.leases) checkMac(l.mac, `DHCP lease for "${l.hostname}" on network "${spec.networkId}"`);
    await mkdir(opts.stateDir, { recursive: true, mode: 0o755 });
    await guard.ensure(); // before the host gets an address on the tenant bridge
    await dhcp.ensure(net.bridge, net.mtu, spec);
  }

  async function stopDhcp(networkId: string): Promise<void> {
    const links = await ip.links();
    const br = bridgeOf(links, networkId);
    if (br) await dhcp.stop(br.ifname);
  }

  // One change at a time on this host: every call is check-then-act over shared devices.
  let tail: Promise<unknown> = Promise.resolve();
  const serial =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> => {
      const next = tail.then(() => fn(...a));
      tail = next.catch(() => undefined);
      return next;
    };
  return {
    ensureNetwork: serial(ensureNetwork),
    deleteNetwork: serial(deleteNetwork),
    ensurePort: serial(ensurePort),
    deletePort: serial(deletePort),
    syncFdb: serial(async (networkId: string, remoteVteps: string[]) => syncFloodList(ip, (await requireNetwork(networkId)).net.vxlan, networkId, remoteVteps)),
    syncRemotePorts: serial(async (networkId: string, ports: RemotePort[]) => syncUnicast(ip, (await requireNetwork(networkId)).net.vxlan, networkId, ports)),
    ensureDhcp: serial(ensureDhcp),
    stopDhcp: serial(stopDhcp),
    listNetworks: serial(listNetworks),
    listPorts: serial(listPorts),
    teardown: serial(teardown),
  };
}
