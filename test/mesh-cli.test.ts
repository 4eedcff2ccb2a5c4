// The quick start: `peerstack node` with no arguments, `peerstack cluster init`, a node alone.
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { operatorFetch } from "../node/main/operator-client.ts";
import { waitFor } from "./helpers/mesh-process.ts";

const BIN = resolve(import.meta.dirname, "../bin/peerstack.ts");
const execFileP = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "psmesh-cli-"));
  dirs.push(d);
  return d;
};

/** Runs `peerstack node ...` in `cwd` until its banner is printed; returns the banner and a stopper. */
async function runNode(cwd: string, args: string[]): Promise<{ banner: string; id: string; stop: () => Promise<void> }> {
  const env = { ...process.env };
  delete env.PEERSTACK_CONFIG;
  const p = spawn(process.execPath, [BIN, "node", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env });
  let err = "";
  p.stderr.on("data", (c: Buffer) => (err += c.toString()));
  p.stdout.resume();
  const exited = new Promise((r) => p.once("exit", r));
  await waitFor("the node's banner", async () => /p2p: /.test(err) || p.exitCode !== null, 40_000).catch((e: unknown) => {
    p.kill("SIGKILL");
    throw e;
  });
  if (p.exitCode !== null) throw new Error(`peerstack node exited ${p.exitCode}: ${err}`);
  const id = /peerstack node (\S+)/.exec(err)![1];
  return {
    banner: err,
    id,
    stop: async () => {
      p.kill("SIGTERM");
      await exited;
    },
  };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("peerstack node (quick start)", () => {
  it("runs with no arguments: defaults, cluster key created on first start, prints where it listens; accepts writes alone and says so", { timeout: 120_000 }, async () => {
    const cwd = tmp();
    const first = await runNode(cwd, []);
    try {
      expect(first.banner).toMatch(/http: +http:\/\/127\.0\.0\.1:8774/);
      // The native routes are on the operator socket in the data dir, not on the API port.
      const operator = `unix:${join(cwd, ".peerstack/node/operator.sock")}`;
      expect(first.banner).toMatch(new RegExp(`operator: +${operator}`));
      expect(first.banner).toMatch(/p2p: +\/ip4\/.*\/tcp\/8775\/p2p\//);
      expect(existsSync(join(cwd, ".peerstack/cluster.key"))).toBe(true);
      expect(existsSync(join(cwd, ".peerstack/node/identity.key"))).toBe(true);
      const health = (await (await fetch("http://127.0.0.1:8774/healthz")).json()) as { ok: boolean; node: string };
      expect(health).toMatchObject({ ok: true, node: first.id });
      const res = await operatorFetch(operator, "/mesh/records", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ writes: [{ kind: "flavor", id: "m1.tiny", fields: { ram: 512 } }] }),
      });
      // A second node on the same default ports says which one is taken and how to move it, in one line.
      const clash = await execFileP(process.execPath, [BIN, "node"], { cwd: tmp() }).catch((e: { code: number; stderr: string }) => e);
      expect((clash as { code: number }).code).toBe(1);
      expect((clash as { stderr: string }).stderr.trim()).toBe("peerstack node: cannot start: the p2p address /ip4/0.0.0.0/tcp/8775 is already in use (another peerstack node on this machine?); give this one another with --listen /ip4/0.0.0.0/tcp/PORT");
      expect(res.status).toBe(200);
      expect(res.headers.get("x-peerstack-alone")).toBe("true");
      expect(((await res.json()) as { acks: { alone: boolean } }).acks.alone).toBe(true);
    } finally {
      await first.stop();
    }
    // Same identity and data after a restart.
    const second = await runNode(cwd, []);
    try {
      expect(second.id).toBe(first.id);
      const r = (await (await operatorFetch(`unix:${join(cwd, ".peerstack/node/operator.sock")}`, "/mesh/records/flavor/m1.tiny")).json()) as { ram: number };
      expect(r.ram).toBe(512);
    } finally {
      await second.stop();
    }
  });

  it("cluster init writes a key and a config the node starts from; refuses to overwrite", { timeout: 120_000 }, async () => {
    const cwd = tmp();
    const { stdout } = await execFileP(process.execPath, [BIN, "cluster", "init", "--http", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0", "--az", "edge-1"], { cwd });
    expect(stdout).toContain(".peerstack/cluster.key");
    const config = JSON.parse(readFileSync(join(cwd, ".peerstack/node.json"), "utf8")) as { az: string; clusterKey: string };
    expect(config.az).toBe("edge-1");
    const again = await execFileP(process.execPath, [BIN, "cluster", "init"], { cwd }).catch((e: { code: number }) => e);
    expect((again as { code: number }).code).toBe(1);
    const node = await runNode(cwd, []); // picks up .peerstack/node.json by default
    try {
      const operator = /operator: +(\S+)/.exec(node.banner)![1];
      const mesh = (await (await operatorFetch(operator, "/mesh")).json()) as { az: string; peers: Array<{ self: boolean; az: string }> };
      expect(mesh.az).toBe("edge-1");
      expect(mesh.peers.find((p) => p.self)?.az).toBe("edge-1");
    } finally {
      await node.stop();
    }
  });
});
