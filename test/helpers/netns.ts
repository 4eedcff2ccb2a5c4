// Network namespaces as "hosts" and "fake VMs" for the network tests (all named psnet-<tag>-…).
// Two hosts h1/h2 are joined by a veth underlay (10.200.0.1/24 and 10.200.0.2/24, MTU 1500).

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/** Runs a command as-is (test setup), returning stdout; throws with stderr on failure. */
export async function sh(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: timeoutMs, env: { ...process.env, LC_ALL: "C" } });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Runs a command inside a namespace; resolves to its exit code (for pings expected to fail). */
export async function nsCode(ns: string, cmd: string, args: string[], timeoutMs = 15_000): Promise<{ code: number; stdout: string }> {
  try {
    return { code: 0, stdout: await sh("ip", ["netns", "exec", ns, cmd, ...args], timeoutMs) };
  } catch (err) {
    const c = (err as { cause?: { code?: unknown; stdout?: string } }).cause;
    return { code: typeof c?.code === "number" ? c.code : -1, stdout: c?.stdout ?? "" };
  }
}

export interface Lab {
  tag: string;
  hosts: [string, string];
  vteps: [string, string];
  underlay: [string, string];
  /** Adds a fake VM namespace with eth0 (given MAC/IP/MTU) whose veth peer `hostIf` sits in `host`. */
  addGuest(o: { name: string; host: string; hostIf: string; mac: string; cidr?: string; mtu: number }): Promise<string>;
  namespaces(): Promise<string[]>;
  destroy(): Promise<void>;
}

export async function listNamespaces(prefix: string): Promise<string[]> {
  const out = await sh("ip", ["-j", "netns", "list"]);
  const list = (out.trim() ? JSON.parse(out) : []) as Array<{ name: string }>;
  return list.map((n) => n.name).filter((n) => n.startsWith(prefix));
}

export async function createLab(tag: string): Promise<Lab> {
  const prefix = `psnet-${tag}-`;
  for (const ns of await listNamespaces(prefix)) await sh("ip", ["netns", "del", ns]); // leftovers of a crashed run
  const hosts: [string, string] = [`${prefix}h1`, `${prefix}h2`];
  const vteps: [string, string] = ["10.200.0.1", "10.200.0.2"];
  const underlay: [string, string] = ["psu1", "psu2"];
  for (const h of hosts) await sh("ip", ["netns", "add", h]);
  await sh("ip", ["link", "add", "psu1", "netns", hosts[0], "mtu", "1500", "type", "veth", "peer", "name", "psu2", "netns", hosts[1], "mtu", "1500"]);
  for (let i = 0; i < 2; i++) {
    await sh("ip", ["-n", hosts[i], "link", "set", "lo", "up"]);
    await sh("ip", ["-n", hosts[i], "addr", "add", `${vteps[i]}/24`, "dev", underlay[i]]);
    await sh("ip", ["-n", hosts[i], "link", "set", underlay[i], "up"]);
  }
  return {
    tag,
    hosts,
    vteps,
    underlay,
    async addGuest(o) {
      const ns = `${prefix}${o.name}`;
      await sh("ip", ["netns", "add", ns]);
      await sh("ip", ["link", "add", o.hostIf, "netns", o.host, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      await sh("ip", ["-n", ns, "link", "set", "eth0", "address", o.mac, "mtu", String(o.mtu)]);
      await sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
      if (o.cidr) await sh("ip", ["-n", ns, "addr", "add", o.cidr, "dev", "eth0"]);
      await sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      return ns;
    },
    namespaces: () => listNamespaces(prefix),
    async destroy() {
      for (const ns of await listNamespaces(prefix)) await sh("ip", ["netns", "del", ns]);
    },
  };
}
