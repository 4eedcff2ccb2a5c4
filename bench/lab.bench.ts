// Lab benchmark (root): a real `peerstack lab` of 3 (agents in network namespaces), no guests. Figures:
// lab up from nothing (API bootstrap included, test image cached), a write through node 1 visible on
// node 3, kill -9 of node 2 until both others show it suspect/dead, `lab up` repairing it until every
// node sees 3 alive, and a 10 s cut of node 3 (nftables drop, as the e2e test does): until node 3 sees
// no connected peer, then after the heal until all see 3 alive and a write made on the cut side is
// visible on node 1. Own names (pslbNNNN, 10.243.x); removes its lab at the end.
// Usage: node bench/lab.bench.ts [rounds, default 5]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { labClient } from "../test/helpers/lab-client.ts";

const rounds = Number(process.argv[2] ?? 5);
const NAME = `pslb${process.pid % 10000}`;
const SUBNET = `10.243.${process.pid % 250}`;
const TMP = mkdtempSync(join(tmpdir(), "pslb-"));
const DIR = join(TMP, "lab");
const L = labClient({ dir: DIR, name: NAME, subnet: SUBNET });
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const line = (name: string, xs: number[]) => `${name}: median ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)} ms (n=${xs.length})`;

interface Mesh {
  node: string;
  peers: Array<{ id: string; state: string; connected: boolean; self: boolean }>;
}
const mesh = async (k: number) => (await L.op(k, "GET", "/mesh")).json as unknown as Mesh;
async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 120_000): Promise<number> {
  const t0 = now();
  while (!(await ok().catch(() => false))) {
    if (now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
  return now() - t0;
}
const allAlive = async () => (await Promise.all([1, 2, 3].map(async (k) => (await mesh(k)).peers.filter((p) => p.state === "alive").length))).every((n) => n === 3);
const write = async (k: number, id: string) => {
  const r = await L.op(k, "POST", "/mesh/records", { writes: [{ kind: "labbench", id, fields: { at: Date.now() } }] });
  if (r.status !== 200) throw new Error(`write ${id} on node ${k}: ${r.status}`);
};
const visible = async (k: number, id: string) => (await L.op(k, "GET", `/mesh/records/labbench/${id}`)).status === 200;

console.log(`machine: ${cpus()[0]!.model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
const fig = { up: [] as number[], replicate: [] as number[], killSeen: [] as number[], repair: [] as number[], cutSeen: [] as number[], healAlive: [] as number[], healWrite: [] as number[] };
try {
  L.lab("down");
  let t = now();
  const up = L.lab("up", "--nodes", "3", "--subnet", SUBNET);
  if (up.code !== 0) throw new Error(`lab up:\n${up.out}`);
  fig.up.push(now() - t);
  for (let r = 0; r < rounds; r++) {
    await write(1, `w${r}`);
    t = now();
    await until("write visible on node 3", () => visible(3, `w${r}`));
    fig.replicate.push(now() - t);

    const n2 = (await mesh(2)).node;
    process.kill(Number(readFileSync(join(DIR, "n2", "agent.pid"), "utf8")), "SIGKILL");
    fig.killSeen.push(await until("node 2 suspect on 1 and 3", async () => (await Promise.all([1, 3].map(async (k) => (await mesh(k)).peers.find((p) => p.id === n2)?.state))).every((s) => s === "suspect" || s === "dead")));
    t = now();
    const re = L.lab("up");
    if (re.code !== 0) throw new Error(`lab up (repair):\n${re.out}`);
    await until("all alive after repair", allAlive);
    fig.repair.push(now() - t);

    L.cut(3, [1, 2]);
    try {
      fig.cutSeen.push(await until("node 3 alone", async () => (await mesh(3)).peers.every((p) => p.self || !p.connected)));
      await write(3, `c${r}`);
      await sleep(10_000);
    } finally {
      L.heal(3);
    }
    t = now();
    await until("all alive after heal", allAlive);
    fig.healAlive.push(now() - t);
    await until("cut-side write on node 1", () => visible(1, `c${r}`));
    fig.healWrite.push(now() - t);
    process.stdout.write(`round ${r + 1}/${rounds} done\n`);
  }
} finally {
  L.lab("down");
  rmSync(TMP, { recursive: true, force: true });
}
console.log(line("lab up (3 nodes, API bootstrap, image cached)", fig.up));
console.log(line("write on node 1 visible on node 3", fig.replicate));
console.log(line("kill -9 node 2 until nodes 1 and 3 show it suspect/dead", fig.killSeen));
console.log(line("lab up repairing node 2 until all see 3 alive", fig.repair));
console.log(line("cut node 3 until it sees no connected peer", fig.cutSeen));
console.log(line("heal (after 10 s cut) until all see 3 alive", fig.healAlive));
console.log(line("heal until the cut side's write is visible on node 1", fig.healWrite));
