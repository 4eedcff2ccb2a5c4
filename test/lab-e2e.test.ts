// Issue #8 acceptance, end to end in a real `peerstack lab` of 3 (agents in network namespaces, QEMU
// TCG guests, VXLAN between the namespaces, the OpenStack API of every node): one server per node
// that pings the others from inside the guest; kill -9 of an agent; one node cut off for 30 s; and
// `lab down` leaving nothing on the host. Per-process names (psleNNNN, 10.242.x) so it runs beside
// test/lab.test.ts or a developer's lab. The steps build on each other, in order. The partition is
// an nftables drop inside node 3's namespace (table pslecut), removed by the test (and by lab down).
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existedBefore, heldPaths, hostSnapshot, stillThere, type HostSnapshot } from "./helpers/host-snapshot.ts";
import { labClient } from "./helpers/lab-client.ts";
import { tapNameFor } from "../protocol/records.ts";

const NAME = `psle${process.pid % 10000}`;
const SUBNET = `10.242.${process.pid % 250}`;
const TMP = mkdtempSync(join(tmpdir(), "psle2e-"));
const DIR = join(TMP, "lab");
const REPO = resolve(import.meta.dirname, "..");
const L = labClient({ dir: DIR, name: NAME, subnet: SUBNET });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Figures for docs/notes/lab.md (stdout of the test run). */
const say = (line: string) => process.stdout.write(`e2e: ${line}\n`);
const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const SNAPSHOT_DEPTH = 3;
const IPS = ["192.168.77.101", "192.168.77.102", "192.168.77.103"];

/** The guest's user_data: every 2 s ping the others and list the block devices; print each change. */
function pinger(targets: string[]): string {
  const script = `#!/bin/sh
while true; do
  d=$(ls /sys/block | tr '\\n' ' '); [ "$d" != "$disks" ] && { echo "PS-DISKS $d"; disks=$d; }
  for t in ${targets.join(" ")}; do
    if ping -c 1 -W 1 $t >/dev/null 2>&1; then r=OK; else r=FAIL; fi
    f=/run/ps-ping-$t; old=$(cat $f 2>/dev/null)
    if [ "$r" != "$old" ] && { [ -n "$old" ] || [ $r = OK ]; }; then echo "PS-PING $t $r"; echo $r > $f; fi
  done
  sleep 2
done
`;
  return Buffer.from(script).toString("base64");
}

function procs(): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const e of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(`${DIR}/`) && Number(e) !== process.pid && !/^State:\s+Z/m.test(readFileSync(`/proc/${e}/status`, "utf8"))) out.push({ pid: Number(e), cmd });
    } catch {
      /* exited */
    }
  }
  return out;
}
const qemuOf = (serverId: string) => procs().filter((p) => p.cmd.includes("qemu-system") && p.cmd.includes(serverId)).map((p) => p.pid);
const agentPid = (k: number) => Number(readFileSync(join(DIR, `n${k}`, "agent.pid"), "utf8"));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));

interface Mesh {
  node: string;
  peers: Array<{ id: string; name: string; state: string; connected: boolean; self: boolean }>;
}
async function mesh(k: number): Promise<Mesh> {
  return (await L.op(k, "GET", "/mesh")).json as unknown as Mesh;
}
async function waitAllAlive(timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  let seen: number[] = [];
  while (Date.now() - t0 < timeoutMs) {
    seen = await Promise.all([1, 2, 3].map(async (k) => (await mesh(k).catch(() => ({ peers: [] }) as unknown as Mesh)).peers.filter((p) => p.state === "alive").length));
    if (seen.every((n) => n === 3)) return;
    await sleep(500);
  }
  throw new Error(`the nodes do not all see 3 alive within ${timeoutMs / 1000} s: ${seen.join(", ")}`);
}

describe("issue #8 acceptance in a lab of 3", () => {
  let before: HostSnapshot;
  let peerstackDirBefore: Set<string>;
  let admin: string[] = [];
  let demo: string[] = [];
  /** server id → node index (1..3) hosting it. */
  const hostOf = new Map<string, number>();
  const servers: string[] = [];
  let demoProject = "";
  let volumeId = "";

  beforeAll(() => {
    before = hostSnapshot(SNAPSHOT_DEPTH);
    peerstackDirBefore = listing(join(REPO, ".peerstack"));
    const r = L.lab("up", "--nodes", "3", "--subnet", SUBNET);
    if (r.code !== 0) throw new Error(`lab up failed:\n${r.out}`);
  }, 240_000);
  afterAll(() => {
    L.lab("down");
    rmSync(TMP, { recursive: true, force: true });
  }, 60_000);

  it("network + subnet, one server per node (anti-affinity group), the guests ping each other across VXLAN", async () => {
    admin = await Promise.all([1, 2, 3].map((k) => L.token(k, "admin")));
    demo = await Promise.all([1, 2, 3].map((k) => L.token(k, "demo")));
    const tok = (k: number) => demo[k - 1]!;
    const image = ((await L.call(1, "GET", "/image/v2/images?name=peerstack-test", tok(1))).json.images as Array<{ id: string }>)[0]!.id;
    const net = ((await L.call(1, "GET", "/networking/v2.0/networks?name=demo", tok(1))).json.networks as Array<{ id: string; subnets: string[] }>)[0]!;
    expect(net.subnets.length).toBe(1);
    const flavor = ((await L.call(1, "GET", "/compute/v2.1/flavors", tok(1))).json.flavors as Array<{ id: string; name: string }>).find((f) => f.name === "m1.tiny")!.id;
    const group = await L.call(1, "POST", "/compute/v2.1/os-server-groups", tok(1), { server_group: { name: "e2e", policies: ["anti-affinity"] } });
    expect(group.status, JSON.stringify(group.json)).toBe(200);
    const groupId = (group.json.server_group as { id: string }).id;
    for (let k = 1; k <= 3; k++) {
      // Created through node k; the group's anti-affinity (and the hint) keeps one server per node.
      const body = {
        server: { name: `e2e-${k}`, imageRef: image, flavorRef: flavor, networks: [{ uuid: net.id, fixed_ip: IPS[k - 1] }], user_data: pinger(IPS.filter((_, i) => i !== k - 1)) },
        "os:scheduler_hints": { group: groupId, ...(servers.length ? { different_host: [...servers] } : {}) },
      };
      const t0 = Date.now();
      const r = await L.call(k, "POST", "/compute/v2.1/servers", tok(k), body);
      expect(r.status, JSON.stringify(r.json)).toBe(202);
      const id = (r.json.server as { id: string }).id;
      servers.push(id);
      const s = await L.waitServer(k, id, admin[k - 1]!, ["ACTIVE"], 180_000);
      expect(s.status, JSON.stringify(s)).toBe("ACTIVE");
      hostOf.set(id, Number(String(s["OS-EXT-SRV-ATTR:host"]).replace(/^n/, "")));
      say(`server e2e-${k} (through node ${k}) ACTIVE on ${String(s["OS-EXT-SRV-ATTR:host"])} in ${since(t0)}`);
    }
    expect([...hostOf.values()].sort()).toEqual([1, 2, 3]);
    const tPing = Date.now();
    // Two of the three run on nodes that had to fetch the image from node 1 (the uploader) over the mesh.
    for (const [i, id] of servers.entries()) {
      const others = IPS.filter((_, j) => j !== i);
      const both = new RegExp(others.map((ip) => `(?=[\\s\\S]*PS-PING ${ip.replaceAll(".", "\\.")} OK)`).join(""));
      const text = await L.waitConsole(1, id, demo[0]!, both, 240_000);
      expect(text).toMatch(new RegExp(`PEERSTACK-READY hostname=e2e-${i + 1} id=${id} ip=${IPS[i]!.replaceAll(".", "\\.")}/24 mtu=1450`));
      expect(text).toContain("PEERSTACK-USERDATA");
    }
    say(`all three guests reach both others ${since(tPing)} after the last ACTIVE`);
  }, 600_000);

  it("a volume created through node 1 is attached to the server on node 2: in-use, hot-plugged, the guest sees the disk", async () => {
    const id = [...hostOf].find(([, k]) => k === 2)![0];
    const t0 = Date.now();
    const v = await L.call(1, "POST", "/volume/v3/volumes", demo[0]!, { volume: { size: 1, name: "e2e-vol" } });
    expect(v.status, JSON.stringify(v.json)).toBe(202);
    const vid = (v.json.volume as { id: string }).id;
    const volume = async (k: number) => (await L.call(k, "GET", `/volume/v3/volumes/${vid}`, demo[k - 1]!)).json.volume as { status: string; attachments: Array<{ server_id: string }> };
    const waitVolume = async (k: number, want: string, timeoutMs: number) => {
      const t0 = Date.now();
      let st = await volume(k);
      while (st.status !== want && !/error/.test(st.status) && Date.now() - t0 < timeoutMs) {
        await sleep(1000);
        st = await volume(k);
      }
      return st;
    };
    expect((await waitVolume(1, "available", 90_000)).status).toBe("available");
    const before = await L.console(2, id, demo[1]!);
    expect(before).toMatch(/^PS-DISKS vda $/m);
    const a = await L.call(1, "POST", `/compute/v2.1/servers/${id}/os-volume_attachments`, demo[0]!, { volumeAttachment: { volumeId: vid } });
    expect(a.status, JSON.stringify(a.json)).toBe(200);
    const st = await waitVolume(3, "in-use", 120_000);
    expect(st.status, JSON.stringify(st)).toBe("in-use");
    expect(st.attachments.map((x) => x.server_id)).toEqual([id]);
    await L.waitConsole(1, id, demo[0]!, /^PS-DISKS vda vdb $/m, 60_000);
    say(`volume created, attached (in-use) and seen by the guest in ${since(t0)}`);
    const listed = (await L.call(3, "GET", `/compute/v2.1/servers/${id}/os-volume_attachments`, demo[2]!)).json.volumeAttachments as Array<{ volumeId: string }>;
    expect(listed.map((x) => x.volumeId)).toEqual([vid]);
    volumeId = vid;
  }, 240_000);

  it("kill -9 of an agent: its VM keeps running, the others mark it down within 10 s, on restart it reports the server ACTIVE on the same QEMU", async () => {
    const id = [...hostOf].find(([, k]) => k === 2)![0];
    const [qemu] = qemuOf(id);
    expect(qemu, "QEMU of the server on node 2").toBeGreaterThan(0);
    const n2 = (await mesh(2)).node;
    const old = agentPid(2);
    process.kill(old, "SIGKILL");
    const t0 = Date.now();
    let states: string[] = [];
    while (Date.now() - t0 < 10_000) {
      states = await Promise.all([1, 3].map(async (k) => (await mesh(k)).peers.find((p) => p.id === n2)?.state ?? "?"));
      if (states.every((s) => s === "suspect" || s === "dead")) break;
      await sleep(200);
    }
    say(`node 2 killed: nodes 1 and 3 see it ${states.join("/")} after ${since(t0)}`);
    expect(states.every((s) => s === "suspect" || s === "dead"), `node 2 as seen by nodes 1 and 3 after ${Date.now() - t0} ms: ${states.join(", ")}`).toBe(true);
    expect(alive(qemu!), "the guest outlives its agent").toBe(true);
    await sleep(3000); // a few pinger rounds of the other guests while node 2's agent is dead
    const tUp = Date.now();
    const r = L.lab("up");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/starting node 2\/3/);
    expect(agentPid(2)).not.toBe(old);
    await waitAllAlive(60_000);
    const s = await L.server(2, id, admin[1]!);
    expect(s.status).toBe("ACTIVE");
    say(`node 2 restarted (lab up) and alive on all nodes in ${since(tUp)}; its server ACTIVE, same QEMU`);
    expect(s["OS-EXT-STS:power_state"]).toBe(1);
    // Reconciled on restart: re-adopted over QMP, not booted again.
    expect(qemuOf(id)).toEqual([qemu]);
    const text = await L.console(1, id, demo[0]!);
    expect(text.match(/PEERSTACK-READY/g)?.length).toBe(1);
    expect((await L.server(1, id, admin[0]!)).status).toBe("ACTIVE");
    // The hot-plugged volume is still attached after the restart (reconciled, not re-plugged or lost).
    expect(((await L.call(1, "GET", `/volume/v3/volumes/${volumeId}`, demo[0]!)).json.volume as { status: string }).status).toBe("in-use");
    expect(text.match(/^PS-DISKS /gm)?.length).toBe(2);
    // Its guest stayed reachable across VXLAN all along: no other guest ever lost it.
    const ip2 = IPS[servers.indexOf(id)]!;
    for (const other of servers.filter((x) => x !== id)) expect(pings(await L.console(1, other, demo[0]!), ip2)).toEqual(["OK"]);
    const log = readFileSync(join(DIR, "n2", "agent.log"), "utf8");
    expect(log.split("\n").filter((l) => l.includes(id) && /"level":50/.test(l))).toEqual([]);
  }, 180_000);

  it("node 3 cut off for 30 s: both sides accept writes, all converge after heal, the project's instance quota holds", async () => {
    const adminTok = admin[0]!;
    demoProject = ((await L.call(1, "GET", "/identity/v3/projects?name=demo", adminTok)).json.projects as Array<{ id: string }>)[0]!.id;
    const used = async (k: number) => ((await L.call(k, "GET", `/compute/v2.1/os-quota-sets/${demoProject}/detail`, admin[k - 1]!)).json.quota_set as Record<string, { in_use: number; limit: number }>).instances;
    const limit = 5; // 3 servers run: 2 more fit, wherever the partition puts the rights
    const set = await L.call(1, "PUT", `/compute/v2.1/os-quota-sets/${demoProject}`, adminTok, { quota_set: { instances: limit } });
    expect(set.status, JSON.stringify(set.json)).toBe(200);
    for (let t0 = Date.now(); (await used(3)).limit !== limit; ) {
      if (Date.now() - t0 > 30_000) throw new Error(`node 3 does not see instances limit ${limit}: ${JSON.stringify(await used(3))}`);
      await sleep(500);
    }
    const onThree = [...hostOf].find(([, k]) => k === 3)![0];
    const image = ((await L.call(1, "GET", "/image/v2/images?name=peerstack-test", demo[0]!)).json.images as Array<{ id: string }>)[0]!.id;
    const flavor = ((await L.call(1, "GET", "/compute/v2.1/flavors", demo[0]!)).json.flavors as Array<{ id: string; name: string }>).find((f) => f.name === "m1.tiny")!.id;
    const net = ((await L.call(1, "GET", "/networking/v2.0/networks?name=demo", demo[0]!)).json.networks as Array<{ id: string }>)[0]!.id;

    // Node 3 has not allocated an address on the demo subnet yet (e2e-3's fixed IP is in the home's block),
    // yet it holds a block of it: fetched in the background when it learned the subnet (node/ipam/prefetch.ts).
    const demoSubnet = ((await L.call(1, "GET", `/networking/v2.0/subnets?network_id=${net}`, demo[0]!)).json.subnets as Array<{ id: string }>)[0]!.id;
    const self3 = (await mesh(3)).node;
    const blocks3 = ((await L.op(3, "GET", "/mesh/records/ipblock")).json.records as Array<{ subnet: string; owner: string }>).filter((b) => b.subnet === demoSubnet && b.owner === self3);
    expect(blocks3.length, "blocks of the demo subnet node 3 owns before the cut").toBeGreaterThan(0);
    say(`node 3 owns ${blocks3.length} block(s) of the demo subnet before it allocated there`);
    // Give node 3 quota rights of its own before the cut: a create through node 3 takes rights by transfer,
    // and its owner host (node 3, by same_host) returns them there when it removes the deleted server.
    // Both sides then hold some of the 2 spare instances.
    const pre = await L.call(3, "POST", "/compute/v2.1/servers", demo[2]!, { server: { name: "pre-cut", imageRef: image, flavorRef: flavor, networks: [{ uuid: net }] }, "os:scheduler_hints": { same_host: [onThree] } });
    expect(pre.status, JSON.stringify(pre.json)).toBe(202);
    const preId = (pre.json.server as { id: string }).id;
    expect((await L.call(3, "DELETE", `/compute/v2.1/servers/${preId}`, demo[2]!)).status).toBe(204);
    for (let t0 = Date.now(); (await L.call(1, "GET", `/compute/v2.1/servers/${preId}`, demo[0]!)).status !== 404; await sleep(1000)) {
      if (Date.now() - t0 > 60_000) throw new Error(`server ${preId} not gone 60 s after its delete`);
    }
    // No port allocated through node 3 before the cut any more: its prefetched block serves it cut off.
    // The cut: node 3's namespace drops everything to and from nodes 1 and 2 (mesh and VXLAN alike);
    // the host (lab bridge address) still reaches node 3's API, so the test can talk to both sides.
    L.cut(3, [1, 2]);
    const cutAt = Date.now();
    try {
      // Node 3 notices it is alone (its connections close on failed pings).
      for (;;) {
        const m = await mesh(3);
        if (m.peers.every((p) => p.self || !p.connected)) break;
        if (Date.now() - cutAt > 40_000) throw new Error(`node 3 still shows connected peers 40 s after the cut: ${JSON.stringify(m.peers)}`);
        await sleep(500);
      }
      say(`node 3 sees no connected peer ${since(cutAt)} after the cut`);
      const kp = async (k: number, name: string) => L.call(k, "POST", "/compute/v2.1/os-keypairs", demo[k - 1]!, { keypair: { name } });
      const [k1, k3] = await Promise.all([kp(1, "cut-side-1"), kp(3, "cut-side-3")]);
      expect([k1.status, k3.status], JSON.stringify([k1.json, k3.json])).toEqual([200, 200]);
      expect(k3.headers.get("x-peerstack-replication")).toBe("alone");
      expect(k1.headers.get("x-peerstack-replication")).toBe("1/1"); // node 2 acknowledged it
      const mk = async (k: number, name: string) => L.call(k, "POST", "/networking/v2.0/networks", demo[k - 1]!, { network: { name } });
      const [n1, n3] = await Promise.all([mk(1, "cut-net-1"), mk(3, "cut-net-3")]);
      expect([n1.status, n3.status]).toEqual([201, 201]);
      // Quota: two creates on each side against 2 spare instances in all.
      const create = async (k: number, i: number) => {
        const r = await L.call(k, "POST", "/compute/v2.1/servers", demo[k - 1]!, { server: { name: `q-${k}-${i}`, imageRef: image, flavorRef: flavor, networks: [{ uuid: net }] } });
        expect([202, 403], JSON.stringify(r.json)).toContain(r.status);
        return r.status;
      };
      const side = async (k: number) => [await create(k, 1), await create(k, 2)];
      const [a, b] = await Promise.all([side(1), side(3)]);
      const accepted = [...a, ...b].filter((s) => s === 202).length;
      say(`quota during the cut (limit ${limit}, 3 in use): majority side ${a.join(",")}, cut-off side ${b.join(",")}`);
      expect(accepted, `accepted majority ${a} / cut-off ${b}`).toBeLessThanOrEqual(limit - 3);
      expect(accepted).toBeGreaterThan(0);
      // The cut-off guest loses the others, on its own console (read locally on node 3).
      await L.waitConsole(3, onThree, demo[2]!, /PS-PING \S+ FAIL/, 25_000);
      const left = 30_000 - (Date.now() - cutAt);
      if (left > 0) await sleep(left);
    } finally {
      L.heal(3);
    }
    const healAt = Date.now();
    await waitAllAlive(90_000);
    say(`healed: all nodes see 3 alive after ${since(healAt)}`);
    // Converge: both sides' writes visible on every node.
    const t0 = Date.now();
    for (const k of [1, 2, 3]) {
      for (const name of ["cut-side-1", "cut-side-3"]) {
        for (let r = await L.call(k, "GET", `/compute/v2.1/os-keypairs/${name}`, demo[k - 1]!); r.status !== 200; r = await L.call(k, "GET", `/compute/v2.1/os-keypairs/${name}`, demo[k - 1]!)) {
          if (Date.now() - t0 > 60_000) throw new Error(`keypair ${name} not visible on node ${k} 60 s after the heal`);
          await sleep(500);
        }
      }
      const nets = ((await L.call(k, "GET", "/networking/v2.0/networks", demo[k - 1]!)).json.networks as Array<{ name: string }>).map((n) => n.name);
      expect(nets).toEqual(expect.arrayContaining(["cut-net-1", "cut-net-3"]));
    }
    // Quota after heal: every node counts the same usage, within the limit, equal to the live servers.
    let counts: Array<{ in_use: number; limit: number }> = [];
    for (const t1 = Date.now(); ; await sleep(1000)) {
      counts = await Promise.all([1, 2, 3].map(used));
      const live = ((await L.call(1, "GET", "/compute/v2.1/servers/detail", demo[0]!)).json.servers as Array<{ status: string }>).filter((s) => s.status !== "ERROR").length;
      if (counts.every((c) => c.in_use === live && c.limit === limit)) break;
      if (Date.now() - t1 > 60_000) throw new Error(`quota usage does not converge: ${JSON.stringify(counts)} vs ${live} live servers`);
    }
    expect(counts[0]!.in_use).toBeLessThanOrEqual(limit);
    say(`converged (keypairs, networks, quota in_use ${counts.map((c) => c.in_use).join("/")}) ${since(healAt)} after the heal`);
    // VXLAN heals too: the cut-off guest lost both others and reaches them again.
    const mine = IPS[servers.indexOf(onThree)]!;
    const others = IPS.filter((x) => x !== mine);
    const healed = (text: string) => others.every((ip) => pings(text, ip).includes("FAIL") && pings(text, ip).at(-1) === "OK");
    const t2 = Date.now();
    let text = "";
    while (!healed((text = await L.console(1, onThree, demo[0]!))) && Date.now() - t2 < 60_000) await sleep(2000);
    for (const ip of others) expect(pings(text, ip), `${ip} on the console of the cut-off guest`).toEqual(expect.arrayContaining(["OK", "FAIL"]));
    for (const ip of others) expect(pings(text, ip).at(-1)).toBe("OK");
    say(`cut-off guest reaches the others again ${since(healAt)} after the heal`);
  }, 300_000);

  it("lab down leaves no namespace, process, tap, link, mount, nftables table or file outside the lab dir", async () => {
    const mine = procs();
    expect(mine.length).toBeGreaterThan(3);
    const system = /^\/(usr|lib|lib64|bin|sbin|dev|proc|sys)\//;
    const held = new Set<string>();
    for (const p of mine) {
      for (const raw of heldPaths(p.pid)) {
        const path = existsSync(raw) ? realpathSync(raw) : raw;
        if (!path.startsWith(`${DIR}/`) && path !== DIR && !system.test(path) && !path.startsWith(`${REPO}/`)) held.add(path);
      }
    }
    // Held outside the lab dir and made while the lab ran (absent from the first listing): must go.
    const made = [...held].filter((p) => !existedBefore(before, p, SNAPSHOT_DEPTH));
    const ports = ((await L.call(1, "GET", "/networking/v2.0/ports", demo[0]!)).json.ports as Array<{ id: string }>).map((x) => x.id);
    expect(ports.length).toBeGreaterThanOrEqual(3);
    const taps = ports.map(tapNameFor);
    const nodeIds = await Promise.all([1, 2, 3].map(async (k) => (await mesh(k)).node));
    const r = L.lab("down");
    expect(r.code, r.out).toBe(0);
    say(`lab down: ${r.out.trim().split("\n").at(-1)}; checked ${held.size} paths its ${mine.length} processes held outside the lab dir (${made.length} made during the run): ${[...held].join(" ")}`);
    const after = hostSnapshot(SNAPSHOT_DEPTH);
    expect(procs()).toEqual([]);
    expect(stillThere(made), `paths the lab's processes held: ${[...held].join(" ")}`).toEqual([]);
    const ids = [...servers, ...ports, volumeId, ...nodeIds];
    const mark = (s: string) => s.includes(NAME) || s.includes(DIR) || ids.some((x) => s.includes(x));
    const newFiles = [...after.files].filter((f) => !before.files.has(f));
    expect(newFiles.filter(mark), "new files named after the lab").toEqual([]);
    expect(after.namespaces.filter((n) => n.startsWith(`${NAME}-`))).toEqual([]);
    expect(after.links.filter((l) => l.startsWith(`${NAME}-`) || taps.includes(l))).toEqual([]);
    expect(after.nftTables.filter((t) => !before.nftTables.includes(t) && /peerstack|ps/.test(t))).toEqual([]);
    expect(after.mounts.filter((m) => mark(m) && !before.mounts.includes(m))).toEqual([]);
    // In the repo: only the shared, keyed image cache (.peerstack/images, .peerstack/cache) may grow.
    const grown = [...listing(join(REPO, ".peerstack"))].filter((f) => !peerstackDirBefore.has(f) && !/^(images|cache|lab)(\/|$)/.test(f));
    expect(grown).toEqual([]);
    expect(existsSync(DIR)).toBe(false);
  }, 90_000);
});

/** The reachability changes a guest's pinger printed for `ip`, in order ("OK", "FAIL", …). */
function pings(text: string, ip: string): string[] {
  return [...text.matchAll(new RegExp(`^PS-PING ${ip.replaceAll(".", "\\.")} (OK|FAIL)`, "gm"))].map((m) => m[1]!);
}

function listing(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string, rel: string, depth: number) => {
    for (const e of (() => {
      try {
        return readdirSync(d, { withFileTypes: true });
      } catch {
        return [];
      }
    })()) {
      out.add(`${rel}${e.name}`);
      if (depth > 1 && e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`, depth - 1);
    }
  };
  walk(dir, "", 2);
  return out;
}
