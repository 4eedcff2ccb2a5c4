// One dnsmasq per network on this host: DHCP only (no DNS), static leases for this host's ports
// only (unknown MACs get no answer, so the other hosts' servers on the same VXLAN stay silent for
// our guests and we for theirs), listening on the network's bridge only, MTU option = tenant MTU.
// Lease changes rewrite the hosts file and SIGHUP the process; option changes restart it.

import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Runner } from "../run.ts";
import type { DhcpSpec } from "./interface.ts";
import type { IpCli } from "./ip-cli.ts";
import { NetworkInvalidError } from "./errors.ts";

const ipToInt = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})$/;

/** Splits "10.0.0.0/24" into network address, netmask and prefix length; checks `inside` is in it. */
export function parseCidr(cidr: string, inside: string[]): { network: string; netmask: string; prefix: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  const prefix = m ? Number(m[2]) : -1;
  if (!m || prefix < 8 || prefix > 30) throw new NetworkInvalidError(`subnet "${cidr}" is not an IPv4 CIDR with a /8../30 prefix`);
  const size = 2 ** (32 - prefix);
  const base = ipToInt(m[1]) - (ipToInt(m[1]) % size);
  for (const ip of inside) {
    const n = ipToInt(ip);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || n <= base || n >= base + size - 1) throw new NetworkInvalidError(`${ip} is not a host address of ${cidr}`);
  }
  return { network: intToIp(base), netmask: intToIp(2 ** 32 - size), prefix };
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return fallback;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o644 });
  await rename(`${path}.tmp`, path);
}

/** Whether the process exists and is not a zombie (a daemon's parent may never reap it). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readOr(`/proc/${pid}/stat`, "");
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "" && state !== "Z" && state !== "X";
}

export class Dnsmasq {
  private readonly runner: Runner;
  private readonly netns: string | undefined;
  private readonly stateDir: string;
  private readonly ip: IpCli;

  constructor(o: { runner: Runner; netns?: string; stateDir: string; ip: IpCli }) {
    this.runner = o.runner;
    this.netns = o.netns;
    this.stateDir = o.stateDir;
    this.ip = o.ip;
  }

  private dir(bridge: string): string {
    return join(this.stateDir, `dnsmasq-${bridge}`);
  }

  /** The pid of the running dnsmasq for this bridge (checked against its command line), if any. */
  async pid(bridge: string): Promise<number | undefined> {
    const conf = join(this.dir(bridge), "dnsmasq.conf");
    const pid = Number((await readOr(join(this.dir(bridge), "pid"), "")).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !(await alive(pid))) return undefined;
    const cmdline = await readOr(`/proc/${pid}/cmdline`, "");
    return cmdline.includes(conf) ? pid : undefined;
  }

  async ensure(bridge: string, mtu: number, spec: DhcpSpec): Promise<void> {
    const what = `DHCP for network "${spec.networkId}"`;
    const { network, netmask, prefix } = parseCidr(spec.cidr, [spec.serverIp, ...(spec.gateway ? [spec.gateway] : []), ...spec.leases.map((l) => l.ip)]);
    for (const l of spec.leases) if (!HOSTNAME_RE.test(l.hostname)) throw new NetworkInvalidError(`${what}: hostname "${l.hostname}" is not a DNS label`);
    // The server address on the bridge (and no other IPv4 address there).
    const want = `${spec.serverIp}/${prefix}`;
    const have = (await this.ip.addrs(bridge)).filter((a) => a.family === "inet");
    for (const a of have) if (`${a.local}/${a.prefixlen}` !== want) await this.ip.delAddr(bridge, `${a.local}/${a.prefixlen}`);
    if (!have.some((a) => `${a.local}/${a.prefixlen}` === want)) await this.ip.addAddr(bridge, want);

    const dir = this.dir(bridge);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const conf = [
      "# written by peerstack: DHCP only, static leases for this host's ports",
      "port=0",
      `interface=${bridge}`,
      "bind-interfaces",
      "no-resolv",
      "no-hosts",
      "user=root", // it re-reads the hosts file on SIGHUP; the state dir may be private (0700)
      `dhcp-range=${network},static,${netmask},${spec.leaseSeconds ?? 86400}`,
      `dhcp-hostsfile=${join(dir, "hosts")}`,
      `dhcp-leasefile=${join(dir, "leases")}`,
      `pid-file=${join(dir, "pid")}`,
      `log-facility=${join(dir, "log")}`,
      "log-dhcp",
      `dhcp-option=option:mtu,${mtu}`,
      spec.gateway ? `dhcp-option=option:router,${spec.gateway}` : "dhcp-option=option:router",
      spec.dnsServers?.length ? `dhcp-option=option:dns-server,${spec.dnsServers.join(",")}` : "dhcp-option=option:dns-server",
      "",
    ].join("\n");
    const hosts = [...spec.leases]
      .sort((a, b) => a.mac.localeCompare(b.mac))
      .map((l) => `${l.mac},${l.ip},${l.hostname}\n`)
      .join("");
    const confPath = join(dir, "dnsmasq.conf");
    const confChanged = (await readOr(confPath, "")) !== conf;
    const hostsChanged = (await readOr(join(dir, "hosts"), "\0")) !== hosts;
    if (hostsChanged) await writeAtomic(join(dir, "hosts"), hosts);
    if (confChanged) await writeAtomic(confPath, conf);
    const pid = await this.pid(bridge);
    if (pid !== undefined && !confChanged) {
      if (hostsChanged) process.kill(pid, "SIGHUP");
      return;
    }
    if (pid !== undefined) await this.kill(pid);
    const opts: { timeoutMs: number; netns?: string } = { timeoutMs: 10_000 };
    if (this.netns !== undefined) opts.netns = this.netns;
    await this.runner.run("dnsmasq", [`--conf-file=${confPath}`], opts); // daemonizes once listening
  }

  private async kill(pid: number): Promise<void> {
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && (await alive(pid)); i++) await sleep(20);
    if (await alive(pid)) process.kill(pid, "SIGKILL");
  }

  /** Stops the bridge's dnsmasq and forgets its files; idempotent. */
  async stop(bridge: string): Promise<void> {
    const pid = await this.pid(bridge);
    if (pid !== undefined) await this.kill(pid);
    await rm(this.dir(bridge), { recursive: true, force: true });
  }

  async stopAll(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.stateDir);
    } catch {
      return;
    }
    for (const n of names) if (n.startsWith("dnsmasq-")) await this.stop(n.slice("dnsmasq-".length));
  }
}
