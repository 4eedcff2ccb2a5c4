// `peerstack lab up|status|down`: a whole cluster on one machine. Each node is a real agent in its
// own network namespace, on a lab bridge, with its own data dir under the lab dir (issue #8).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { createClusterKey } from "../../node/main/identity.ts";
import { bootstrapOpenstack } from "../lab/api.ts";
import { operatorFetch } from "../../node/main/operator-client.ts";
import { DEFAULTS, type LabConfig, LabUsageError, bridgeIp, bridgeName, nodeDir, nodeIp, nodeOperatorSocket, nodeUrl, nsName, parseLabArgs, readState, vethName, writeState } from "../lab/config.ts";
import { ensureBridge, ensureNodeNet, labLinks, nodeNetIntact, namespaces, removeAllNet, removeNodeNet } from "../lab/host.ts";
import { agentPid, labProcesses, logFile, startAgentProcess, stopLabProcesses, stopPids } from "../lab/procs.ts";

const USAGE = `usage: peerstack lab up     [--nodes N] [--dir DIR] [--name PREFIX] [--subnet A.B.C]
       peerstack lab status [--dir DIR]
       peerstack lab down   [--dir DIR] [--name PREFIX]
defaults: 3 nodes, dir .peerstack/lab, prefix pslab (bridge pslab-br0, namespaces pslab-nK), subnet 10.240.0
`;

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A path as the user would type it: relative to the cwd when inside it. */
const shown = (p: string) => (relative(process.cwd(), p).startsWith("..") ? p : relative(process.cwd(), p) || ".");
/** The flags that name this lab again in a follow-up command (none for the default lab). */
function labFlags(c: LabConfig): string {
  const def = resolve(DEFAULTS.dir);
  return `${c.dir !== def ? ` --dir ${shown(c.dir)}` : ""}${c.name !== DEFAULTS.name ? ` --name ${c.name}` : ""}`;
}
const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

interface MeshView {
  node: string;
  peers: Array<{ id: string; name: string; state: string; self: boolean; connected: boolean }>;
}

async function mesh(c: LabConfig, k: number): Promise<MeshView | undefined> {
  try {
    const res = await operatorFetch(`unix:${nodeOperatorSocket(c, k)}`, "/mesh", { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as MeshView) : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

async function waitHealthy(c: LabConfig, k: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await mesh(c, k)) return;
    if (!agentPid(c, k)) throw new Error(`node ${k} exited; last lines of ${logFile(c, k)}:\n${tail(logFile(c, k))}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`node ${k} did not answer /mesh on ${nodeOperatorSocket(c, k)} in ${timeoutMs / 1000} s; see ${logFile(c, k)}`);
    await sleep(200);
  }
}

async function up(c: LabConfig): Promise<number> {
  if (process.getuid?.() !== 0) throw new LabUsageError("lab up needs root (network namespaces)");
  const t0 = Date.now();
  mkdirSync(c.dir, { recursive: true });
  const old = readState(c.dir);
  // A lab that had more nodes shrinks: stop and remove the extra ones.
  for (let k = c.nodes + 1; k <= (old?.nodes ?? 0); k++) {
    const pid = agentPid(c, k);
    if (pid) await stopPids([pid]);
    removeNodeNet(c, k);
    rmSync(nodeDir(c, k), { recursive: true, force: true });
  }
  writeState(c);
  const key = join(c.dir, "cluster.key");
  if (!existsSync(key)) createClusterKey(key);
  ensureBridge(c);
  say(`lab ${c.name}: ${c.nodes} nodes, bridge ${bridgeName(c)} ${bridgeIp(c)}/24, dir ${shown(c.dir)}`);
  for (let k = 1; k <= c.nodes; k++) {
    const t = Date.now();
    let pid = agentPid(c, k);
    if (pid && !nodeNetIntact(c, k)) {
      // Its namespace or veth is gone but the agent lives on in the orphaned namespace: stop it while
      // its links still exist, so its peers see the connections close instead of going silent.
      say(`node ${k}/${c.nodes}: network gone, stopping its agent (pid ${pid}) before rebuilding`);
      await stopPids([pid]);
      pid = undefined;
    }
    ensureNodeNet(c, k);
    if (pid && (await mesh(c, k))) {
      say(`node ${k}/${c.nodes} already running (pid ${pid}, ${nodeUrl(c, k)})`);
      continue;
    }
    process.stdout.write(`starting node ${k}/${c.nodes} in ${nsName(c, k)} (${nodeIp(c, k)}) … `);
    if (pid) await stopPids([pid]); // running but not answering: restart it
    pid = startAgentProcess(c, k);
    await waitHealthy(c, k, 60_000);
    say(`ok (${secs(t)}, pid ${pid})`);
  }
  process.stdout.write(`waiting until every node sees ${c.nodes} alive … `);
  const t = Date.now();
  for (;;) {
    const views = await Promise.all(Array.from({ length: c.nodes }, (_, i) => mesh(c, i + 1)));
    // Alive and named: the node record (name, addresses, key) has arrived too, not only adverts.
    const counts = views.map((v) => v?.peers.filter((p) => p.state === "alive" && p.name).length ?? 0);
    if (counts.every((n) => n === c.nodes)) break;
    if (Date.now() - t > 90_000) throw new Error(`nodes did not converge in 90 s (alive seen per node: ${counts.join(", ")})`);
    await sleep(250);
  }
  say(`ok (${secs(t)})`);
  const openrc = await bootstrapOpenstack(c, say);
  say(`lab up in ${secs(t0)}.\n`);
  say("next:");
  if (openrc) {
    say(`  source ${shown(openrc.path)} && openstack flavor list && openstack network list`);
    if (openrc.servers) say(`  source ${shown(openrc.path)} && openstack server create --flavor m1.tiny --image peerstack-test --network demo demo1`);
  }
  if (!openrc || !openrc.servers) {
    // The native routes are on each node's operator socket (root-only, 0600), not on the API port.
    say(`  curl -s --unix-socket ${shown(nodeOperatorSocket(c, 1))} http://op/mesh            # membership, liveness, catalog digest`);
    say(`  curl -s --unix-socket ${shown(nodeOperatorSocket(c, 1))} -XPOST http://op/mesh/records -H content-type:application/json -d '{"writes":[{"kind":"demo","id":"a","fields":{"x":1}}]}'`);
    say(`  curl -s --unix-socket ${shown(nodeOperatorSocket(c, c.nodes))} http://op/mesh/records/demo/a   # the write, replicated to node ${c.nodes}`);
  }
  say(`  ./peerstack lab status${labFlags(c)}        # nodes, pids, peers seen`);
  say(`  ./peerstack lab down${labFlags(c)}          # remove every namespace, link, process and file of the lab`);
  say(`  ./peerstack test              # the whole suite`);
  return 0;
}

async function status(c: LabConfig): Promise<number> {
  const saved = readState(c.dir);
  if (!saved) {
    say(`no lab in ${c.dir}`);
    return 1;
  }
  let dead = 0;
  say(`lab ${c.name}: ${c.nodes} nodes, dir ${c.dir}, bridge ${bridgeName(c)} ${labLinks(c.name).includes(bridgeName(c)) ? "up" : "MISSING"}`);
  const nss = namespaces();
  for (let k = 1; k <= c.nodes; k++) {
    const pid = agentPid(c, k);
    const v = await mesh(c, k);
    if (!pid || !v) dead++;
    const peers = v ? v.peers.map((p) => `${p.name}:${p.state}`).join(" ") : "-";
    say(`  n${k}  ns ${nsName(c, k)}${nss.includes(nsName(c, k)) ? "" : " (MISSING)"}  ${nodeIp(c, k)}  pid ${pid ?? "-"}  ${pid && v ? "alive" : "DOWN"}  ${v ? v.node : ""}\n      peers: ${peers}`);
  }
  const others = labProcesses(c).filter((p) => !/ node --data-dir /.test(p.cmd));
  if (others.length) say(`  other lab processes (QEMU, dnsmasq): ${others.map((p) => p.pid).join(" ")}`);
  return dead === 0 ? 0 : 1;
}

async function down(c: LabConfig): Promise<number> {
  if (process.getuid?.() !== 0) throw new LabUsageError("lab down needs root (network namespaces)");
  const t0 = Date.now();
  const stopped = await stopLabProcesses(c);
  const net = removeAllNet(c.name);
  if (existsSync(c.dir)) rmSync(c.dir, { recursive: true, force: true });
  // The default lab dir's parent (.peerstack) was made by `lab up` when missing: drop it if empty.
  const parent = dirname(c.dir);
  if (basename(parent) === ".peerstack" && existsSync(parent) && readdirSync(parent).length === 0) rmdirSync(parent);
  say(`lab ${c.name} down in ${secs(t0)}: ${stopped} processes stopped, ${net.namespaces.length} namespaces and ${net.links.length} links removed, ${c.dir} deleted`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    const { config, rest: extra } = parseLabArgs(rest);
    if (extra.length > 0 || !sub || !["up", "status", "down"].includes(sub)) {
      process.stderr.write(USAGE);
      return sub === "--help" || sub === "-h" ? 0 : 2;
    }
    if (sub === "up") return await up(config);
    if (sub === "status") return await status(config);
    return await down(config);
  } catch (err) {
    if (err instanceof LabUsageError) {
      process.stderr.write(`peerstack lab: ${err.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`\npeerstack lab ${sub}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

// For tests and docs: the names a lab uses.
export { bridgeName, nsName, vethName };
