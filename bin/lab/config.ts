// The lab's shape: names and addresses derived from a prefix, a subnet and a node count, and the
// state file (<dir>/lab.json) that `lab status` and `lab down` read back.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface LabConfig {
  /** Absolute lab directory (data dirs, logs, pidfiles, cluster key, openrc). */
  dir: string;
  /** Prefix of every host resource: bridge `<name>-br0`, namespaces `<name>-nK`, veths `<name>-vK`. */
  name: string;
  /** First three octets of the lab's /24, e.g. "10.240.0". */
  subnet: string;
  nodes: number;
  /** HTTP port of each node (on its underlay address). */
  httpPort: number;
  /** libp2p TCP port of each node. */
  p2pPort: number;
}

export const DEFAULTS = { dir: ".peerstack/lab", name: "pslab", subnet: "10.240.0", nodes: 3, httpPort: 8774, p2pPort: 8775 };

export class LabUsageError extends Error {}

export function bridgeName(c: LabConfig): string {
  return `${c.name}-br0`;
}
export function nsName(c: LabConfig, k: number): string {
  return `${c.name}-n${k}`;
}
export function vethName(c: LabConfig, k: number): string {
  return `${c.name}-v${k}`;
}
export function bridgeIp(c: LabConfig): string {
  return `${c.subnet}.1`;
}
export function nodeIp(c: LabConfig, k: number): string {
  return `${c.subnet}.${10 + k}`;
}
export function nodeDir(c: LabConfig, k: number): string {
  return join(c.dir, `n${k}`);
}
export function nodeUrl(c: LabConfig, k: number): string {
  return `http://${nodeIp(c, k)}:${c.httpPort}`;
}
/** Node k's operator socket (native routes); its data dir is on the host's filesystem, so no netns is needed. */
export function nodeOperatorSocket(c: LabConfig, k: number): string {
  return join(nodeDir(c, k), "operator.sock");
}
export function stateFile(dir: string): string {
  return join(dir, "lab.json");
}

export function readState(dir: string): LabConfig | undefined {
  const f = stateFile(dir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, "utf8")) as LabConfig;
  } catch {
    return undefined;
  }
}

export function writeState(c: LabConfig): void {
  writeFileSync(stateFile(c.dir), `${JSON.stringify(c, null, 2)}\n`);
}

/** Parses `--dir --name --subnet --nodes`; values not given come from the state file, then defaults. */
export function parseLabArgs(args: string[]): { config: LabConfig; given: Set<string>; rest: string[] } {
  const given = new Set<string>();
  const v: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--(dir|name|subnet|nodes)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new LabUsageError(`flag --${m[1]} needs a value`);
    v[m[1]!] = value;
    given.add(m[1]!);
  }
  const dir = resolve(v.dir ?? DEFAULTS.dir);
  const saved = readState(dir);
  const name = v.name ?? saved?.name ?? DEFAULTS.name;
  const subnet = v.subnet ?? saved?.subnet ?? DEFAULTS.subnet;
  const nodes = Number(v.nodes ?? saved?.nodes ?? DEFAULTS.nodes);
  if (!/^[a-z][a-z0-9]{0,7}$/.test(name)) throw new LabUsageError(`--name "${name}": 1-8 lowercase letters/digits, starting with a letter (interface names are at most 15 characters)`);
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet) || subnet.split(".").some((o) => Number(o) > 255)) throw new LabUsageError(`--subnet "${subnet}": the first three octets of a /24, e.g. 10.240.0`);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200) throw new LabUsageError(`--nodes "${v.nodes}": an integer from 1 to 200`);
  return { config: { dir, name, subnet, nodes, httpPort: saved?.httpPort ?? DEFAULTS.httpPort, p2pPort: saved?.p2pPort ?? DEFAULTS.p2pPort }, given, rest };
}
