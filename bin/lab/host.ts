// Host plumbing of the lab: one bridge in the root namespace, one network namespace per node joined
// to it by a veth (eth0 inside). Every step is idempotent, so `lab up` repairs a half-built lab.
import { spawnSync } from "node:child_process";
import { type LabConfig, bridgeIp, bridgeName, nodeIp, nsName, vethName } from "./config.ts";

export class LabHostError extends Error {}

function ip(args: string[], allowFail = false): string {
  const r = spawnSync("ip", args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.status !== 0 && !allowFail) throw new LabHostError(`ip ${args.join(" ")}: ${(r.stderr || r.error?.message || "").trim()}`);
  return r.status === 0 ? r.stdout : "";
}

export function linkExists(name: string, ns?: string): boolean {
  return ip([...(ns ? ["-n", ns] : []), "link", "show", "dev", name], true) !== "";
}

export function namespaces(): string[] {
  const out = ip(["-j", "netns", "list"], true);
  if (!out.trim()) return [];
  return (JSON.parse(out) as Array<{ name: string }>).map((n) => n.name);
}

/** Links in the root namespace whose name starts with `<prefix>-`. */
export function labLinks(prefix: string): string[] {
  const out = ip(["-j", "link", "show"], true);
  if (!out.trim()) return [];
  return (JSON.parse(out) as Array<{ ifname: string }>).map((l) => l.ifname.split("@")[0]!).filter((n) => n.startsWith(`${prefix}-`));
}

export function ensureBridge(c: LabConfig): void {
  const br = bridgeName(c);
  if (!linkExists(br)) ip(["link", "add", br, "type", "bridge"]);
  ip(["addr", "replace", `${bridgeIp(c)}/24`, "dev", br]);
  ip(["link", "set", br, "up"]);
}

/** Namespace `<name>-nK`, veth `<name>-vK` on the bridge ↔ eth0 (address .(10+K)/24) inside, lo up. */
export function ensureNodeNet(c: LabConfig, k: number): void {
  const ns = nsName(c, k);
  const veth = vethName(c, k);
  if (!namespaces().includes(ns)) ip(["netns", "add", ns]);
  if (!linkExists("eth0", ns)) {
    if (linkExists(veth)) ip(["link", "del", veth]);
    ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  } else if (!linkExists(veth)) {
    // eth0 without its host end cannot happen with veths; rebuild the pair.
    ip(["-n", ns, "link", "del", "eth0"]);
    ip(["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  }
  ip(["link", "set", veth, "master", bridgeName(c)]);
  ip(["link", "set", veth, "up"]);
  ip(["-n", ns, "addr", "replace", `${nodeIp(c, k)}/24`, "dev", "eth0"]);
  ip(["-n", ns, "link", "set", "eth0", "up"]);
  ip(["-n", ns, "link", "set", "lo", "up"]);
}

/** The namespace exists, holds eth0, and the host end of the veth is on the bridge. */
export function nodeNetIntact(c: LabConfig, k: number): boolean {
  if (!namespaces().includes(nsName(c, k)) || !linkExists("eth0", nsName(c, k))) return false;
  const out = ip(["-j", "link", "show", "dev", vethName(c, k)], true);
  return out !== "" && (JSON.parse(out) as Array<{ master?: string }>)[0]?.master === bridgeName(c);
}

/** Removes node K's namespace (and with it eth0, and every bridge, VXLAN and tap the node made in it). */
export function removeNodeNet(c: LabConfig, k: number): void {
  if (namespaces().includes(nsName(c, k))) ip(["netns", "del", nsName(c, k)]);
  if (linkExists(vethName(c, k))) ip(["link", "del", vethName(c, k)], true);
}

/** Removes every namespace and root-namespace link named `<prefix>-*`. */
export function removeAllNet(prefix: string): { namespaces: string[]; links: string[] } {
  const nss = namespaces().filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of nss) ip(["netns", "del", ns], true);
  const links = labLinks(prefix);
  for (const l of links) ip(["link", "del", l], true);
  return { namespaces: nss, links };
}
