// A small OpenStack REST client for tests against a `peerstack lab`: the lab CLI run as a user runs
// it, tokens from the lab's openrc files, JSON calls to any node's API (one retry on a dropped keep-alive
// socket, which a restarted agent causes) or operator socket, server waits and the guest console.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { operatorFetch } from "../../node/main/operator-client.ts";

const BIN = resolve(import.meta.dirname, "../../bin/peerstack.ts");
const CUT_TABLE = "pslecut";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Reply {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

export interface LabClient {
  url(k: number): string;
  /** `peerstack lab <args> --dir --name` as a child process; exit code and output. */
  lab(...args: string[]): { code: number; out: string };
  /** A project-scoped token from node k: "demo" (the lab's openrc) or "admin" (admin-openrc). */
  token(k: number, who: "demo" | "admin"): Promise<string>;
  call(k: number, method: string, path: string, token: string, body?: unknown): Promise<Reply>;
  /** A native route (/mesh, /mesh/records, /metrics, ...) on node k's operator socket, <dir>/nK/operator.sock. */
  op(k: number, method: string, path: string, body?: unknown): Promise<Reply>;
  /** GET /compute/v2.1/servers/{id} through node k. */
  server(k: number, id: string, token: string): Promise<Record<string, unknown>>;
  /** Polls node k until the server's status is one of `want` (or ERROR); returns the last view. */
  waitServer(k: number, id: string, token: string, want: string[], timeoutMs: number): Promise<Record<string, unknown>>;
  /** The guest's serial console through node k (os-getConsoleOutput). */
  console(k: number, id: string, token: string): Promise<string>;
  /**
   * Partition: node k's namespace drops everything to and from nodes `from` (mesh and VXLAN alike), by an
   * nftables table `pslecut` in it; the host (lab bridge address) still reaches node k's API.
   */
  cut(k: number, from: number[]): void;
  /** Removes the cut of node k. */
  heal(k: number): void;
  /** Polls the console through node k until `re` matches; throws with the console tail otherwise. */
  waitConsole(k: number, id: string, token: string, re: RegExp, timeoutMs: number): Promise<string>;
}

function rc(file: string): Record<string, string> {
  return Object.fromEntries([...readFileSync(file, "utf8").matchAll(/^export (OS_\w+)='?([^'\n]*)'?$/gm)].map((m) => [m[1]!, m[2]!]));
}

export function labClient(o: { dir: string; name: string; subnet: string }): LabClient {
  const url = (k: number) => `http://${o.subnet}.${10 + k}:8774`;
  // One parse for API and operator answers: JSON when it is, else the text under `text`.
  async function toReply(res: Response): Promise<Reply> {
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json, headers: res.headers };
  }
  async function call(k: number, method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${url(k)}${path}`, {
          method,
          headers: { ...(token ? { "x-auth-token": token } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
        return await toReply(res);
      } catch (err) {
        if (attempt > 0) throw new Error(`${method} ${url(k)}${path}: ${(err as Error).message}`, { cause: err });
        await sleep(500);
      }
    }
  }
  async function op(k: number, method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await operatorFetch(`unix:${join(o.dir, `n${k}`, "operator.sock")}`, path, {
      method,
      headers: body !== undefined ? { "content-type": "application/json" } : {},
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return toReply(res);
  }
  const nft = (k: number, script: string) => {
    const r = spawnSync("ip", ["netns", "exec", `${o.name}-n${k}`, "nft", "-f", "-"], { input: script, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`nft in node ${k}: ${r.stderr}`);
  };
  const c: LabClient = {
    url,
    cut(k, from) {
      const peers = from.map((j) => `${o.subnet}.${10 + j}`).join(", ");
      nft(k, `table inet ${CUT_TABLE} {
  chain in { type filter hook input priority -10; policy accept; ip saddr { ${peers} } drop; }
  chain out { type filter hook output priority -10; policy accept; ip daddr { ${peers} } drop; }
}
`);
    },
    heal(k) {
      nft(k, `delete table inet ${CUT_TABLE}\n`);
    },
    lab(...args) {
      const r = spawnSync(process.execPath, [BIN, "lab", ...args, "--dir", o.dir, "--name", o.name], { encoding: "utf8", timeout: 240_000 });
      return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    },
    async token(k, who) {
      const v = rc(join(o.dir, who === "demo" ? "openrc" : "admin-openrc"));
      const auth = {
        auth: {
          identity: { methods: ["password"], password: { user: { name: v.OS_USERNAME, domain: { id: "default" }, password: v.OS_PASSWORD } } },
          scope: { project: { name: v.OS_PROJECT_NAME, domain: { id: "default" } } },
        },
      };
      const r = await call(k, "POST", "/identity/v3/auth/tokens", "", auth);
      if (r.status !== 201) throw new Error(`token for ${who} from node ${k}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.headers.get("x-subject-token")!;
    },
    call,
    op,
    async server(k, id, token) {
      const r = await call(k, "GET", `/compute/v2.1/servers/${id}`, token);
      if (r.status !== 200) throw new Error(`server ${id} through node ${k}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json.server as Record<string, unknown>;
    },
    async waitServer(k, id, token, want, timeoutMs) {
      const t0 = Date.now();
      for (;;) {
        const s = await c.server(k, id, token);
        if (want.includes(String(s.status)) || s.status === "ERROR" || Date.now() - t0 > timeoutMs) return s;
        await sleep(1000);
      }
    },
    async console(k, id, token) {
      const r = await call(k, "POST", `/compute/v2.1/servers/${id}/action`, token, { "os-getConsoleOutput": {} });
      if (r.status !== 200) throw new Error(`console of ${id} through node ${k}: ${r.status} ${JSON.stringify(r.json)}`);
      return String(r.json.output ?? "");
    },
    async waitConsole(k, id, token, re, timeoutMs) {
      const t0 = Date.now();
      let text = "";
      for (;;) {
        text = await c.console(k, id, token).catch((err: unknown) => `${text}\n(console read failed: ${(err as Error).message})`);
        if (re.test(text)) return text;
        if (Date.now() - t0 > timeoutMs) throw new Error(`server ${id}: ${re} not on its console within ${timeoutMs / 1000} s; tail:\n${text.slice(-1500)}`);
        await sleep(2000);
      }
    },
  };
  return c;
}
