// One small helper per `ip` / `bridge` invocation the network driver makes; reads use `-j` JSON.
// All of them run through the shared command runner, inside the driver's netns when it has one.

import type { Runner } from "../run.ts";

export interface LinkInfo {
  ifname: string;
  ifindex: number;
  flags: string[];
  mtu: number;
  operstate: string;
  address: string;
  master?: string;
  ifalias?: string;
  inet6_addr_gen_mode?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean; proxy?: boolean; type?: string; persist?: boolean; user?: string };
  };
}

export interface FdbEntry {
  mac: string;
  dst?: string;
  flags: string[];
  state?: string;
  master?: string;
}

export interface AddrInfo {
  family: string;
  local: string;
  prefixlen: number;
}

export class IpCli {
  private readonly runner: Runner;
  private readonly netns: string | undefined;
  private readonly timeoutMs: number;

  constructor(runner: Runner, opts: { netns?: string; timeoutMs?: number } = {}) {
    this.runner = runner;
    this.netns = opts.netns;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private async exec(cmd: string, args: string[]): Promise<string> {
    const opts: { timeoutMs: number; netns?: string } = { timeoutMs: this.timeoutMs };
    if (this.netns !== undefined) opts.netns = this.netns;
    return (await this.runner.run(cmd, args, opts)).stdout;
  }

  private async json<T>(cmd: string, args: string[]): Promise<T> {
    const out = (await this.exec(cmd, args)).trim();
    return (out === "" ? [] : JSON.parse(out)) as T;
  }

  /** `ip -j -d link show`: every link with details (kind, vxlan data, master, alias). */
  links(): Promise<LinkInfo[]> {
    return this.json<LinkInfo[]>("ip", ["-j", "-d", "link", "show"]);
  }

  /** `ip link add NAME type bridge stp_state 0`. */
  async addBridge(name: string): Promise<void> {
    await this.exec("ip", ["link", "add", "name", name, "type", "bridge", "stp_state", "0"]);
  }

  /** `ip link add NAME type vxlan id VNI dstport PORT local IP dev DEV nolearning [proxy]` (proxy: ARP answered from the neighbour table). */
  async addVxlan(o: { name: string; vni: number; local: string; dev: string; dstport: number; proxy: boolean }): Promise<void> {
    await this.exec("ip", ["link", "add", "name", o.name, "type", "vxlan", "id", String(o.vni), "dstport", String(o.dstport), "local", o.local, "dev", o.dev, "nolearning", ...(o.proxy ? ["proxy"] : [])]);
  }

  /** `ip tuntap add dev NAME mode tap [user OWNER]` (persistent, opened later by QEMU). */
  async addTap(name: string, owner?: string): Promise<void> {
    await this.exec("ip", ["tuntap", "add", "dev", name, "mode", "tap", ...(owner ? ["user", owner] : [])]);
  }

  /** `ip link del dev NAME`. */
  async deleteLink(name: string): Promise<void> {
    await this.exec("ip", ["link", "del", "dev", name]);
  }

  /** `ip link set dev NAME master BRIDGE`. */
  async setMaster(name: string, bridge: string): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, "master", bridge]);
  }

  /** `ip link set dev NAME nomaster`. */
  async setNoMaster(name: string): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, "nomaster"]);
  }

  /** `ip link set dev NAME up` / `down`. */
  async setState(name: string, up: boolean): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, up ? "up" : "down"]);
  }

  /** `ip link set dev NAME mtu N`. */
  async setMtu(name: string, mtu: number): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, "mtu", String(mtu)]);
  }

  /** `ip link set dev NAME address MAC`. */
  async setAddress(name: string, mac: string): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, "address", mac]);
  }

  /** `ip link set dev NAME alias TEXT` (where the driver records which network/port a device is). */
  async setAlias(name: string, alias: string): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, "alias", alias]);
  }

  /** `ip link set dev NAME addrgenmode none` (no IPv6 link-local address on tenant devices). */
  async setAddrgenNone(name: string): Promise<void> {
    await this.exec("ip", ["link", "set", "dev", name, "addrgenmode", "none"]);
  }

  /** `sysctl -n net.ipv4.conf.NAME.forwarding`: whether IPv4 packets received on NAME may be routed. */
  async forwarding(name: string): Promise<boolean> {
    return (await this.exec("sysctl", ["-n", `net.ipv4.conf.${name}.forwarding`])).trim() === "1";
  }

  /** `sysctl -q -w net.ipv4.conf.NAME.forwarding=0|1`. */
  async setForwarding(name: string, on: boolean): Promise<void> {
    await this.exec("sysctl", ["-q", "-w", `net.ipv4.conf.${name}.forwarding=${on ? 1 : 0}`]);
  }

  /** `ip -j addr show dev NAME`: the IPv4/IPv6 addresses on one device. */
  async addrs(name: string): Promise<AddrInfo[]> {
    const r = await this.json<Array<{ addr_info?: AddrInfo[] }>>("ip", ["-j", "addr", "show", "dev", name]);
    return r.flatMap((l) => l.addr_info ?? []);
  }

  /** `ip addr add IP/PREFIX dev NAME`. */
  async addAddr(name: string, cidr: string): Promise<void> {
    await this.exec("ip", ["addr", "add", cidr, "dev", name]);
  }

  /** `ip addr del IP/PREFIX dev NAME`. */
  async delAddr(name: string, cidr: string): Promise<void> {
    await this.exec("ip", ["addr", "del", cidr, "dev", name]);
  }

  /** `ip -j neigh show dev NAME`: neighbour entries (on a VXLAN device: what its ARP proxy answers). */
  neighbours(name: string): Promise<Array<{ dst: string; lladdr?: string; state?: string[] }>> {
    return this.json("ip", ["-j", "neigh", "show", "dev", name]);
  }

  /** `ip neigh replace IP lladdr MAC dev NAME nud permanent`. */
  async setNeighbour(name: string, ip: string, mac: string): Promise<void> {
    await this.exec("ip", ["neigh", "replace", ip, "lladdr", mac, "dev", name, "nud", "permanent"]);
  }

  /** `ip neigh del IP dev NAME`. */
  async delNeighbour(name: string, ip: string): Promise<void> {
    await this.exec("ip", ["neigh", "del", ip, "dev", name]);
  }

  /** `bridge -j fdb show dev NAME`: the forwarding entries of one port (VXLAN: with `dst`). */
  fdb(name: string): Promise<FdbEntry[]> {
    return this.json<FdbEntry[]>("bridge", ["-j", "fdb", "show", "dev", name]);
  }

  /** `bridge fdb append MAC dev NAME dst IP` (all-zero MAC = flood-list entry). */
  async appendFdb(name: string, mac: string, dst: string): Promise<void> {
    await this.exec("bridge", ["fdb", "append", mac, "dev", name, "dst", dst]);
  }

  /** `bridge fdb del MAC dev NAME dst IP`. */
  async delFdb(name: string, mac: string, dst: string): Promise<void> {
    await this.exec("bridge", ["fdb", "del", mac, "dev", name, "dst", dst]);
  }
}
