// Real `peerstack node` processes for multi-process tests and benchmarks: spawn N agents (optionally
// inside network namespaces), write through the operator listener (each agent's <dataDir>/operator.sock:
// `op`/`opJson`), wait for convergence, kill -9, restart. The public port (`httpUrl`) is the API only.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { newClusterKey } from "../../node/main/identity.ts";
import { operatorFetch } from "../../node/main/operator-client.ts";

const BIN = resolve(import.meta.dirname, "../../bin/peerstack.ts");

export interface NodeSpec {
  name: string;
  dataDir: string;
  clusterKey: string;
  listen?: string[];
  http?: string;
  join?: string[];
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  args?: string[];
}

export interface MeshStatus {
  node: string;
  connected: number;
  catalog: { digest: string; records: number; live: number; seq: number };
  peers: Array<{ id: string; state: string; connected: boolean; self: boolean }>;
  lagMs: number;
}

export class MeshProcess {
  readonly spec: NodeSpec;
  proc!: ChildProcess;
  id = "";
  httpUrl = "";
  /** The operator listener as the agent logged it: `unix:/abs/operator.sock` or `host:port`. */
  operator = "";
  p2p: string[] = [];
  logs: string[] = [];
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(spec: NodeSpec) {
    this.spec = spec;
  }

  /** Starts the process and waits for its "listening" log line. */
  async start(timeoutMs = 20_000): Promise<this> {
    const s = this.spec;
    const args = [BIN, "node", "--data-dir", s.dataDir, "--cluster-key", s.clusterKey, "--name", s.name, "--http", s.http ?? "127.0.0.1:0", "--debug-routes", "--anti-entropy-ms", "1000"];
    for (const l of s.listen ?? ["/ip4/127.0.0.1/tcp/0"]) args.push("--listen", l);
    for (const j of s.join ?? []) args.push("--join", j);
    args.push(...(s.args ?? []));
    const [cmd, full] = s.netns ? ["ip", ["netns", "exec", s.netns, process.execPath, ...args]] : [process.execPath, args];
    // cwd = the node's own dir, so a developer's .peerstack/node.json is never picked up.
    const env = { ...process.env };
    delete env.PEERSTACK_CONFIG;
    this.proc = spawn(cmd, full, { stdio: ["ignore", "pipe", "pipe"], env, cwd: s.dataDir });
    const proc = this.proc;
    this.exited = new Promise((res) => proc.once("exit", (code) => res(code)));
    this.logs = [];
    return new Promise((resolveStart, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${s.name} did not start in ${timeoutMs} ms:\n${this.logs.slice(-20).join("\n")}`)), timeoutMs);
      let buf = "";
      proc.stdout!.on("data", (chunk: Buffer) => {
        buf += chunk.toString();
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.logs.push(line);
          if (this.logs.length > 2000) this.logs.splice(0, 1000);
          if (line.includes('"msg":"listening"')) {
            const j = JSON.parse(line) as { node: string; http: string; operator: string; p2p: string[] };
            this.id = j.node;
            this.httpUrl = j.http;
            this.operator = j.operator;
            this.p2p = j.p2p;
            clearTimeout(timer);
            resolveStart(this);
          }
        }
      });
      proc.stderr!.on("data", (chunk: Buffer) => this.logs.push(`stderr: ${chunk.toString().trimEnd()}`));
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`node ${s.name} exited with ${code} before listening:\n${this.logs.slice(-20).join("\n")}`));
      });
    });
  }

  /** Resident set size of the process, MiB (Linux). */
  rssMiB(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  }

  async kill9(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }

  /**
   * A request to the agent's operator listener (native routes: /mesh, /mesh/records, /mesh/nodes,
   * /metrics, /mesh/debug/*, /peerstack/*); a failure names the process's exit status and log tail when it has died.
   */
  async op(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await operatorFetch(this.operator, path, { signal: AbortSignal.timeout(30_000), ...init });
    } catch (err) {
      const p = this.proc;
      if (p.exitCode === null && p.signalCode === null) throw err;
      throw new Error(`${init.method ?? "GET"} ${path} on ${this.spec.name}: the process exited (code ${p.exitCode}, signal ${p.signalCode}); last log lines:\n${this.logs.slice(-30).join("\n")}`, { cause: err });
    }
  }

  /** GET `path` on the operator listener, or POST `body` as JSON; throws unless 2xx; the JSON answer (text for /metrics). */
  async opJson<T>(path: string, body?: unknown): Promise<T> {
    const init: RequestInit = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    const res = await this.op(path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path} on ${this.spec.name}: ${res.status} ${text}`);
    return (path.startsWith("/metrics") ? text : JSON.parse(text)) as T;
  }

  status(): Promise<MeshStatus> {
    return this.opJson<MeshStatus>("/mesh");
  }

  /** Writes records through the operator listener; acks 0 does not wait for peers. */
  async put(writes: Array<{ kind: string; id: string; fields: Record<string, unknown> }>, acks = 0) {
    const res = await this.op("/mesh/records", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ writes, acks }) });
    const body = (await res.json()) as { written: number; acks: { acked: number; alone: boolean } };
    if (res.status !== 200) throw new Error(`write on ${this.spec.name}: ${res.status} ${JSON.stringify(body)}`);
    return { status: res.status, body, headers: res.headers };
  }

  /** The record, or undefined; with waitMs the node answers as soon as the record arrives. */
  async record(kind: string, id: string, waitMs = 0): Promise<Record<string, unknown> | undefined> {
    const res = await this.op(`/mesh/records/${kind}/${id}${waitMs ? `?wait=${waitMs}` : ""}`, { signal: AbortSignal.timeout(5000 + waitMs) });
    return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
  }

  /** Value of one metric line (first match), or NaN. */
  async metric(name: string): Promise<number> {
    const text = await this.opJson<string>("/metrics");
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    return m ? Number(m[1]) : Number.NaN;
  }
}

export interface Mesh {
  dir: string;
  clusterKey: string;
  nodes: MeshProcess[];
  /** Spawns one more node joining node 0. */
  add(name: string, extra?: Partial<NodeSpec>): Promise<MeshProcess>;
  destroy(): Promise<void>;
}

/** A temp dir with a cluster key; `n` nodes on loopback, each joining the first. */
export async function startMesh(n: number, opts: { prefix?: string; spec?: (i: number) => Partial<NodeSpec> } = {}): Promise<Mesh> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? "psmesh-"));
  const clusterKey = join(dir, "cluster.key");
  writeFileSync(clusterKey, newClusterKey(), { mode: 0o600 });
  const nodes: MeshProcess[] = [];
  const spec = (name: string, extra: Partial<NodeSpec> = {}): NodeSpec => {
    const dataDir = join(dir, name);
    mkdirSync(dataDir, { recursive: true });
    return { name, dataDir, clusterKey, join: nodes[0] ? [nodes[0].p2p[0]] : [], ...extra };
  };
  const mesh: Mesh = {
    dir,
    clusterKey,
    nodes,
    async add(name, extra) {
      const p = await new MeshProcess(spec(name, extra)).start();
      nodes.push(p);
      return p;
    },
    async destroy() {
      await Promise.all(nodes.map((p) => p.stop().catch(() => {})));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await mesh.add("n1", opts.spec?.(0));
    // A few at a time: twenty agents loading libp2p at once on two cores miss any sane start timeout.
    const rest = Array.from({ length: n - 1 }, (_, i) => new MeshProcess(spec(`n${i + 2}`, opts.spec?.(i + 1))));
    for (let i = 0; i < rest.length; i += 4) {
      const wave = rest.slice(i, i + 4);
      nodes.push(...wave);
      await Promise.all(wave.map((p) => p.start(60_000)));
    }
  } catch (err) {
    await mesh.destroy();
    throw err;
  }
  return mesh;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 50): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Waits until every node reports the same catalog digest with `minRecords` live records or more. */
export async function waitConverged(nodes: MeshProcess[], timeoutMs: number, minRecords = 0): Promise<string> {
  return waitFor(
    "identical catalog digests",
    async () => {
      const st = await Promise.all(nodes.map((p) => p.status()));
      const d = st[0].catalog.digest;
      return st.every((s) => s.catalog.digest === d && s.catalog.live >= minRecords) ? d : undefined;
    },
    timeoutMs,
    100,
  );
}

/** Waits until every node is connected to at least `min` peers. */
export async function waitConnected(nodes: MeshProcess[], min: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(`every node connected to ${min} peers`, async () => (await Promise.all(nodes.map((p) => p.status()))).every((s) => s.connected >= min), timeoutMs, 100);
}
