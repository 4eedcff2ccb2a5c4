// `peerstack lab` for real (root): three agents in three network namespaces on a lab bridge. Writes
// replicate, a kill -9 is noticed, `lab up` repairs, `lab down` leaves nothing behind. Unique names
// (prefix psltNNNN, subnet 10.241.x) so a developer's own lab (pslab, 10.240.0) can run at the same time.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorFetch } from "../node/main/operator-client.ts";

const BIN = resolve(import.meta.dirname, "../bin/peerstack.ts");
// Per-process names, so two suite runs at once (or a developer's lab) never share a namespace or subnet.
const NAME = `pslt${process.pid % 10000}`;
const SUBNET = `10.241.${process.pid % 250}`;
const DIR = join(mkdtempSync(join(tmpdir(), "pslabt-")), "lab");
const url = (k: number) => `http://${SUBNET}.${10 + k}:8774`;
/** Native routes: node k's operator socket in its data dir (the API port serves only the API). */
const op = (k: number, path: string, init?: RequestInit) => operatorFetch(`unix:${join(DIR, `n${k}`, "operator.sock")}`, path, init);

function lab(...args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [BIN, "lab", ...args, "--dir", DIR, "--name", NAME], { encoding: "utf8", timeout: 180_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

interface Mesh {
  node: string;
  peers: Array<{ id: string; name: string; state: string }>;
}
async function mesh(k: number): Promise<Mesh> {
  // One retry: a pooled keep-alive socket to a restarted agent fails once ("other side closed").
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await op(k, "/mesh", { signal: AbortSignal.timeout(3000) });
      return (await res.json()) as Mesh;
    } catch (err) {
      if (attempt > 0) throw err;
    }
  }
}
async function demoToken(k: number): Promise<string> {
  const rc = Object.fromEntries([...readFileSync(join(DIR, "openrc"), "utf8").matchAll(/^export (OS_\w+)='?([^'\n]*)'?$/gm)].map((m) => [m[1], m[2]]));
  const auth = { auth: { identity: { methods: ["password"], password: { user: { name: "demo", domain: { id: "default" }, password: rc.OS_PASSWORD } } }, scope: { project: { name: "demo", domain: { id: "default" } } } } };
  const res = await fetch(`${url(k)}/identity/v3/auth/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(auth) });
  expect(res.status).toBe(201);
  return res.headers.get("x-subject-token")!;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pid = (k: number) => Number(readFileSync(join(DIR, `n${k}`, "agent.pid"), "utf8"));
const alive = (p: number) => existsSync(`/proc/${p}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, "utf8"));

function leftovers(): { namespaces: string[]; links: string[]; processes: string[]; dir: boolean } {
  const ns = spawnSync("ip", ["-j", "netns", "list"], { encoding: "utf8" }).stdout.trim();
  const links = spawnSync("ip", ["-j", "link", "show"], { encoding: "utf8" }).stdout.trim();
  const processes: string[] = [];
  for (const e of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cl = readFileSync(`/proc/${e}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cl.includes(`${DIR}/`) && Number(e) !== process.pid) processes.push(`${e}: ${cl}`);
    } catch {
      /* exited */
    }
  }
  return {
    namespaces: (ns ? (JSON.parse(ns) as Array<{ name: string }>) : []).map((n) => n.name).filter((n) => n.startsWith(`${NAME}-`)),
    links: (links ? (JSON.parse(links) as Array<{ ifname: string }>) : []).map((l) => l.ifname).filter((n) => n.startsWith(`${NAME}-`)),
    processes,
    dir: existsSync(DIR) || existsSync(join(DIR, "..", ".peerstack")),
  };
}

describe("peerstack lab (3 nodes in namespaces)", () => {
  beforeAll(() => {
    lab("down");
  }, 60_000);
  afterAll(() => {
    lab("down");
    rmSync(join(DIR, ".."), { recursive: true, force: true });
  }, 60_000);

  it("lab up: every node alive and each sees 3 alive peers", async () => {
    const r = lab("up", "--nodes", "3", "--subnet", SUBNET);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`starting node 3/3 in ${NAME}-n3 \\(${SUBNET.replaceAll(".", "\\.")}\\.13\\) … ok \\(\\d+\\.\\d s`));
    expect(r.out).toMatch(/next:\n/);
    for (let k = 1; k <= 3; k++) {
      expect(alive(pid(k))).toBe(true);
      const m = await mesh(k);
      expect(m.peers.filter((p) => p.state === "alive").map((p) => p.name).sort()).toEqual(["n1", "n2", "n3"]);
    }
    const st = lab("status");
    expect(st.code, st.out).toBe(0);
    expect(st.out.match(/ alive /g)?.length).toBe(3);
  }, 150_000);

  it("openrc: the demo user (made through node 1's API) gets a token from node 3", async () => {
    const rc = Object.fromEntries([...readFileSync(join(DIR, "openrc"), "utf8").matchAll(/^export (OS_\w+)='?([^'\n]*)'?$/gm)].map((m) => [m[1], m[2]]));
    expect(rc.OS_AUTH_URL).toBe(`${url(1)}/identity/v3`);
    expect(rc.OS_USERNAME).toBe("demo");
    const tok = await demoToken(3);
    const flavors = (await (await fetch(`${url(2)}/compute/v2.1/flavors`, { headers: { "x-auth-token": tok } })).json()) as { flavors: Array<{ name: string }> };
    expect(flavors.flavors.map((f) => f.name)).toEqual(expect.arrayContaining(["m1.tiny", "m1.small", "m1.medium", "m1.large"]));
  }, 30_000);

  it("a server created through node 2 becomes ACTIVE on some lab node (QEMU with the lab dir in its cmdline)", async () => {
    const tok = await demoToken(2);
    const get = async <T>(path: string) => (await (await fetch(`${url(2)}${path}`, { headers: { "x-auth-token": tok } })).json()) as T;
    const image = (await get<{ images: Array<{ id: string }> }>("/image/v2/images?name=peerstack-test")).images[0]!.id;
    const network = (await get<{ networks: Array<{ id: string }> }>("/networking/v2.0/networks?name=demo")).networks[0]!.id;
    const flavor = (await get<{ flavors: Array<{ id: string; name: string }> }>("/compute/v2.1/flavors")).flavors.find((f) => f.name === "m1.tiny")!.id;
    const res = await fetch(`${url(2)}/compute/v2.1/servers`, { method: "POST", headers: { "x-auth-token": tok, "content-type": "application/json" }, body: JSON.stringify({ server: { name: "lab1", imageRef: image, flavorRef: flavor, networks: [{ uuid: network }] } }) });
    expect(res.status, await res.clone().text()).toBe(202);
    const id = ((await res.json()) as { server: { id: string } }).server.id;
    let server: { status: string; fault?: unknown } = { status: "" };
    const t0 = Date.now();
    while (Date.now() - t0 < 120_000) {
      server = (await get<{ server: { status: string } }>(`/compute/v2.1/servers/${id}`)).server;
      if (server.status === "ACTIVE" || server.status === "ERROR") break;
      await sleep(1000);
    }
    expect(server.status, JSON.stringify(server)).toBe("ACTIVE");
    expect(leftovers().processes.some((p) => p.includes("qemu-system"))).toBe(true);
  }, 150_000);

  it("a write through node 1 is visible on node 3", async () => {
    const w = await op(1, "/mesh/records", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ writes: [{ kind: "labtest", id: "w1", fields: { v: 42 } }] }) });
    expect(w.status).toBe(200);
    const r = await op(3, "/mesh/records/labtest/w1?wait=10000", { signal: AbortSignal.timeout(15_000) });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { v: number }).v).toBe(42);
  }, 30_000);

  it("kill -9 of node 2: the others mark it suspect/dead within 10 s; lab up repairs", async () => {
    const n2 = (await mesh(2)).node;
    const old = pid(2);
    process.kill(old, "SIGKILL");
    const t0 = Date.now();
    let states: string[] = [];
    while (Date.now() - t0 < 10_000) {
      states = await Promise.all([1, 3].map(async (k) => (await mesh(k)).peers.find((p) => p.id === n2)?.state ?? "?"));
      if (states.every((s) => s === "suspect" || s === "dead")) break;
      await sleep(200);
    }
    expect(states.every((s) => s === "suspect" || s === "dead"), `states ${states}`).toBe(true);
    expect(lab("status").code).toBe(1);

    const r = lab("up");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/node 1\/3 already running/);
    expect(r.out).toMatch(/starting node 2\/3/);
    expect(pid(2)).not.toBe(old);
    for (const k of [1, 3]) expect((await mesh(k)).peers.find((p) => p.id === n2)?.state).toBe("alive");
    expect((await mesh(2)).node).toBe(n2); // same identity: its data dir survived
  }, 120_000);

  it("lab up on a half-torn lab (namespace of node 3 deleted) rebuilds it", async () => {
    spawnSync("ip", ["netns", "del", `${NAME}-n3`]);
    const r = lab("up");
    expect(r.code, r.out).toBe(0);
    expect((await mesh(3)).peers.filter((p) => p.state === "alive").length).toBe(3);
  }, 120_000);

  it("lab down leaves nothing behind, and is idempotent", () => {
    const pids = [1, 2, 3].map(pid);
    const r = lab("down");
    expect(r.code, r.out).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(leftovers()).toEqual({ namespaces: [], links: [], processes: [], dir: false });
    const again = lab("down");
    expect(again.code, again.out).toBe(0);
    expect(leftovers()).toEqual({ namespaces: [], links: [], processes: [], dir: false });
  }, 60_000);
});
