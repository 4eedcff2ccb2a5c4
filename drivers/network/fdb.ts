// The VXLAN device's forwarding entries, as l2population sets them from the replicated port bindings:
// the flood list (all-zero MAC → every remote VTEP with ports on the network: head-end replication of
// broadcast/unknown traffic), unicast entries (guest MAC → its host's VTEP) and ARP-proxy entries
// (guest IP → MAC, answered by the VXLAN device itself). Each sync makes the set exact and is undone
// as a whole if a step fails.

import { Revert } from "../revert.ts";
import { NetworkChangeError } from "./errors.ts";
import type { RemotePort } from "./interface.ts";
import type { IpCli } from "./ip-cli.ts";
import { checkIpv4, checkMac } from "./validate.ts";

export const ZERO_MAC = "00:00:00:00:00:00";

export async function syncFloodList(ip: IpCli, vx: string, networkId: string, remoteVteps: string[]): Promise<{ added: string[]; removed: string[] }> {
  const action = `syncing the flood list of network "${networkId}"`;
  for (const v of remoteVteps) checkIpv4(v, action);
  const current = new Set((await ip.fdb(vx)).filter((e) => e.mac === ZERO_MAC && e.dst).map((e) => e.dst!));
  const want = new Set(remoteVteps);
  const added = [...want].filter((v) => !current.has(v)).sort();
  const removed = [...current].filter((v) => !want.has(v)).sort();
  const undo = new Revert();
  try {
    for (const v of added) {
      await ip.appendFdb(vx, ZERO_MAC, v);
      undo.add(() => ip.delFdb(vx, ZERO_MAC, v));
    }
    for (const v of removed) {
      await ip.delFdb(vx, ZERO_MAC, v);
      undo.add(() => ip.appendFdb(vx, ZERO_MAC, v));
    }
    undo.success();
  } catch (err) {
    await undo.fail();
    throw new NetworkChangeError(action, err);
  }
  return { added, removed };
}

export async function syncUnicast(ip: IpCli, vx: string, networkId: string, ports: RemotePort[]): Promise<{ added: string[]; removed: string[] }> {
  const action = `syncing the remote ports of network "${networkId}"`;
  for (const p of ports) {
    checkMac(p.mac, action);
    checkIpv4(p.vtep, action);
    if (p.ip !== undefined) checkIpv4(p.ip, action);
  }
  // Entries are compared as "mac>vtep" (FDB) and "ip=mac" (neighbours).
  const fdbHave = new Set((await ip.fdb(vx)).filter((e) => e.mac !== ZERO_MAC && e.dst).map((e) => `${e.mac}>${e.dst}`));
  const fdbWant = new Set(ports.map((p) => `${p.mac}>${p.vtep}`));
  const nHave = new Map((await ip.neighbours(vx)).filter((n) => n.state?.includes("PERMANENT")).map((n) => [n.dst, n.lladdr ?? ""]));
  const nWant = new Map(ports.filter((p) => p.ip !== undefined).map((p) => [p.ip!, p.mac]));
  const added: string[] = [];
  const removed: string[] = [];
  const undo = new Revert();
  try {
    for (const e of [...fdbHave].filter((x) => !fdbWant.has(x)).sort()) {
      const [mac, dst] = e.split(">");
      await ip.delFdb(vx, mac, dst);
      undo.add(() => ip.appendFdb(vx, mac, dst));
      removed.push(e);
    }
    for (const e of [...fdbWant].filter((x) => !fdbHave.has(x)).sort()) {
      const [mac, dst] = e.split(">");
      await ip.appendFdb(vx, mac, dst);
      undo.add(() => ip.delFdb(vx, mac, dst));
      added.push(e);
    }
    for (const [addr, mac] of [...nHave].filter(([a, m]) => nWant.get(a) !== m)) {
      await ip.delNeighbour(vx, addr);
      undo.add(() => ip.setNeighbour(vx, addr, mac));
      removed.push(`${addr}=${mac}`);
    }
    for (const [addr, mac] of [...nWant].filter(([a, m]) => nHave.get(a) !== m)) {
      await ip.setNeighbour(vx, addr, mac);
      undo.add(() => ip.delNeighbour(vx, addr));
      added.push(`${addr}=${mac}`);
    }
    undo.success();
  } catch (err) {
    await undo.fail();
    throw new NetworkChangeError(action, err);
  }
  return { added, removed };
}
