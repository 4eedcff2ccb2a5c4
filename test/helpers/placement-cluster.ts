// Real agents as a placement cluster for the multi-process placement tests and the bench: the
// reconciler off (a placement ends at the host's claim, no VMs), capacity given by PEERSTACK_VCPUS /
// _RAM_MB / _DISK_GB, the OpenStack API through each node's own token, small flavors, one image
// record (metadata only), raised quotas; and the invariant checks over the replicated server records,
// every host's ledger (/peerstack/ledger) and every node's quota rights (/peerstack/quota/:project).
import type { MeshProcess } from "./mesh-process.ts";
import { waitFor } from "./mesh-process.ts";

export const PASSWORD = "psplc-secret";

/** Capacity each agent announces (ratios: Nova's defaults, cpu 4.0, ram 1.0, disk 1.0). */
export const HOST = { vcpus: 16, ramMb: 16384, diskGb: 200 };

/** Mixed flavors: RAM, cores and disk each run out first on some mixes. */
export const FLAVORS = [
  { id: "psplc-a", name: "psplc.a", vcpus: 1, ram: 256, disk: 2 },
  { id: "psplc-b", name: "psplc.b", vcpus: 2, ram: 512, disk: 4 },
  { id: "psplc-c", name: "psplc.c", vcpus: 4, ram: 1024, disk: 10 },
  { id: "psplc-d", name: "psplc.d", vcpus: 1, ram: 2048, disk: 1 },
];

/** Environment for the agents (set on process.env before spawning; MeshProcess passes it on). */
export function agentEnv(host = HOST): Record<string, string> {
  return {
    PEERSTACK_ADMIN_PASSWORD: PASSWORD,
    PEERSTACK_RECONCILER: "off",
    PEERSTACK_VCPUS: String(host.vcpus),
    PEERSTACK_RAM_MB: String(host.ramMb),
    PEERSTACK_DISK_GB: String(host.diskGb),
  };
}

/** Sets env vars; returns a function restoring the previous values. */
export function withEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

export interface ApiAnswer {
  status: number;
  body: Record<string, any>;
  headers: Headers;
}

export async function api(p: MeshProcess, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 60_000): Promise<ApiAnswer> {
  const res = await fetch(`${p.httpUrl}${path}`, {
    method,
    headers: { ...(token ? { "x-auth-token": token } : {}), ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

/** An admin token issued by node `p` (retried until identity has replicated there). */
export async function adminToken(p: MeshProcess): Promise<{ token: string; project: string }> {
  return waitFor(`admin token from ${p.spec.name}`, async () => {
    const r = await api(p, "POST", "/identity/v3/auth/tokens", undefined, {
      auth: {
        identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } },
        scope: { project: { name: "admin", domain: { id: "default" } } },
      },
    });
    return r.status === 201 ? { token: r.headers.get("x-subject-token")!, project: String(r.body.token.project.id) } : undefined;
  }, 30_000, 200);
}

export interface Cluster {
  nodes: MeshProcess[];
  tokens: string[];
  project: string;
  imageId: string;
}

/**
 * Flavors, an image record and raised quotas for the admin project, through node 1; waits until
 * every node sees them, every node's token works everywhere and every node's view has every host.
 */
export async function prepareCluster(nodes: MeshProcess[], quota = { instances: 5000, cores: 100_000, ram: 100_000_000 }): Promise<Cluster> {
  const first = await adminToken(nodes[0]);
  for (const f of FLAVORS) {
    const r = await api(nodes[0], "POST", "/compute/v2.1/flavors", first.token, { flavor: { ...f } });
    if (r.status !== 200 && r.status !== 409) throw new Error(`flavor ${f.id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const img = await api(nodes[0], "POST", "/image/v2/images", first.token, { name: "psplc-img", disk_format: "raw", container_format: "bare", visibility: "public" });
  if (img.status !== 201) throw new Error(`image: ${img.status} ${JSON.stringify(img.body)}`);
  const q = await api(nodes[0], "PUT", `/compute/v2.1/os-quota-sets/${first.project}`, first.token, { quota_set: quota });
  if (q.status !== 200) throw new Error(`quota: ${q.status} ${JSON.stringify(q.body)}`);
  const tokens: string[] = [];
  for (const p of nodes) tokens.push((await adminToken(p)).token);
  const imageId = String(img.body.id);
  await waitFor("flavors, image, tokens and capacity views everywhere", async () => {
    for (const [i, p] of nodes.entries()) {
      const fl = await api(p, "GET", "/compute/v2.1/flavors", tokens[(i + 1) % nodes.length]);
      if (fl.status !== 200 || FLAVORS.some((f) => !fl.body.flavors.some((x: { id: string }) => x.id === f.id))) return false;
      if (!(await p.record("image", imageId))) return false;
      const st = await p.opJson<{ hosts: number }>("/peerstack/placement/stats");
      if (st.hosts < nodes.length) return false;
    }
    return true;
  }, 60_000, 250);
  return { nodes, tokens, project: first.project, imageId };
}

/**
 * POST /servers through node `i`'s API ("networks: none", microversion 2.37). Generous timeout: 1,000
 * concurrent creates next to another multi-process test file on 2 cores took over 60 s to answer.
 */
export function createServer(c: Cluster, i: number, name: string, flavorRef: string, extra: Record<string, unknown> = {}): Promise<ApiAnswer> {
  const body = { server: { name, flavorRef, imageRef: c.imageId, networks: "none", ...extra.server as object }, ...(extra.hints ? { "os:scheduler_hints": extra.hints } : {}) };
  return api(c.nodes[i], "POST", "/compute/v2.1/servers", c.tokens[i], body, { "openstack-api-version": "compute 2.37" }, 300_000);
}

export type ServerRecord = Record<string, unknown> & { id: string; host?: string | null; status?: string; fault?: { message: string } };

export interface LedgerView {
  node: string;
  limits: { vcpus: number; ramMb: number; diskGb: number };
  used: { vcpus: number; ramMb: number; diskGb: number };
  claims: Array<{ serverId: string; attempt: number; resources: { vcpus: number; ramMb: number; diskGb: number } }>;
  holds: number;
}

export async function serverRecords(p: MeshProcess): Promise<ServerRecord[]> {
  return (await p.opJson<{ records: ServerRecord[] }>("/mesh/records/server")).records;
}

/** Waits until no server is still being scheduled and every node holds the same server records. */
export async function waitSettled(nodes: MeshProcess[], timeoutMs: number, ids?: Set<string>): Promise<ServerRecord[]> {
  let why = "";
  try {
    return await waitFor("servers settled and replicated on every node", async () => {
      const lists = await Promise.all(nodes.map(serverRecords));
      const line = (r: ServerRecord) => `${r.id}:${String(r.host)}:${String(r.status)}:${String(r.task_state)}`;
      const sets = lists.map((l) => new Set(l.map(line)));
      const differing = sets.flatMap((s, i) => [...s].filter((k) => sets.some((o) => !o.has(k))).map((k) => `${nodes[i].spec.name} ${k}`));
      const scheduling = lists[0].filter((r) => r.task_state === "scheduling");
      const missing = ids ? [...ids].filter((id) => !lists[0].some((r) => r.id === id)) : [];
      // Remembered for the timeout message: which records keep the cluster from settling.
      why = `${differing.length} record versions not on every node (${differing.slice(0, 6).join("; ")}), ${scheduling.length} scheduling (${scheduling.slice(0, 6).map((r) => `${r.id} ${String(r.name)}`).join("; ")}), ${missing.length} missing`;
      return differing.length === 0 && scheduling.length === 0 && missing.length === 0 ? lists[0] : undefined;
    }, timeoutMs, 500);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last poll: ${why}`);
  }
}

export interface InvariantReport {
  placed: number;
  failed: number;
  perHost: Record<string, number>;
  overCapacity: string[];
  claimProblems: string[];
}

/**
 * The placement invariants after convergence: no host over capacity x ratio, no holds left, every
 * placed server claimed by exactly its record's host, no claim without a placed server naming that
 * host, and (when the ledger's used is claims only) used = the sum of its claims.
 */
export async function checkPlacement(nodes: MeshProcess[], records: ServerRecord[]): Promise<InvariantReport> {
  // A bid answered after the front node stopped waiting leaves a hold that lapses within its TTL (5 s).
  const readLedgers = () => Promise.all(nodes.map((p) => p.opJson<LedgerView>("/peerstack/ledger")));
  let ledgers = await readLedgers();
  for (let i = 0; i < 30 && ledgers.some((l) => l.holds !== 0); i++) {
    await new Promise((r) => setTimeout(r, 500));
    ledgers = await readLedgers();
  }
  const byId = new Map(records.map((r) => [r.id, r]));
  const placed = records.filter((r) => typeof r.host === "string" && r.status !== "ERROR");
  const failed = records.filter((r) => r.status === "ERROR");
  const overCapacity: string[] = [];
  const claimProblems: string[] = [];
  const claimedBy = new Map<string, string[]>();
  const perHost: Record<string, number> = {};
  for (const l of ledgers) {
    const u = l.used;
    if (u.vcpus > l.limits.vcpus || u.ramMb > l.limits.ramMb || u.diskGb > l.limits.diskGb) overCapacity.push(`${l.node}: used ${JSON.stringify(u)} > ${JSON.stringify(l.limits)}`);
    if (l.holds !== 0) claimProblems.push(`${l.node} still has ${l.holds} holds`);
    const sum = { vcpus: 0, ramMb: 0, diskGb: 0 };
    for (const c of l.claims) {
      claimedBy.set(c.serverId, [...(claimedBy.get(c.serverId) ?? []), l.node]);
      sum.vcpus += c.resources.vcpus;
      sum.ramMb += c.resources.ramMb;
      sum.diskGb += c.resources.diskGb;
      const r = byId.get(c.serverId);
      if (!r || r.host !== l.node) claimProblems.push(`${l.node} claims ${c.serverId} whose record says host=${String(r?.host)} status=${String(r?.status)}`);
    }
    if (l.holds === 0 && (sum.vcpus !== u.vcpus || sum.ramMb !== u.ramMb || sum.diskGb !== u.diskGb)) claimProblems.push(`${l.node}: used ${JSON.stringify(u)} != sum of claims ${JSON.stringify(sum)}`);
    perHost[l.node] = l.claims.length;
  }
  for (const r of placed) {
    const by = claimedBy.get(r.id) ?? [];
    if (by.length !== 1 || by[0] !== r.host) claimProblems.push(`server ${r.id} (host ${String(r.host)}) claimed by [${by.join(",")}]`);
  }
  return { placed: placed.length, failed: failed.length, perHost, overCapacity, claimProblems };
}

export interface QuotaView {
  node: string;
  resources: Record<string, { limit: number; usage: number; rights: number; minted: number; debt: number }>;
}

/**
 * Waits until every node's view of the project's counters agrees, then returns limit, usage and the
 * sum of every node's own rights per resource (conservation: rights + usage = limit).
 */
export async function quotaTotals(nodes: MeshProcess[], project: string, timeoutMs = 30_000): Promise<Record<string, { limit: number; usage: number; rights: number; negative: number }>> {
  type Totals = Record<string, { limit: number; usage: number; rights: number; negative: number }>;
  let last: Totals | undefined;
  const conserved = (t: Totals) => Object.values(t).every((x) => x.rights + x.usage === x.limit);
  try {
    return await waitFor("quota views agree on every node and rights + usage = limit", async () => {
      const views = await Promise.all(nodes.map((p) => p.opJson<QuotaView>(`/peerstack/quota/${project}`)));
      const out: Totals = {};
      for (const r of ["instances", "cores", "ram"]) {
        const v0 = views[0].resources[r];
        if (views.some((v) => v.resources[r].usage !== v0.usage || v.resources[r].limit !== v0.limit || v.resources[r].debt !== 0)) return undefined;
        out[r] = { limit: v0.limit, usage: v0.usage, rights: views.reduce((t, v) => t + v.resources[r].rights, 0), negative: views.filter((v) => v.resources[r].rights < 0).length };
      }
      last = out;
      // Own rights are read from each node; a transfer in flight shows on one side first.
      return conserved(out) ? out : undefined;
    }, timeoutMs, 500);
  } catch (err) {
    if (last) return last; // agreed but not conserved: the caller's assertions show the numbers
    throw err;
  }
}

/** Settles, then re-checks the invariants until they hold or `timeoutMs` passes; returns the last report. */
export async function settledInvariants(nodes: MeshProcess[], timeoutMs: number): Promise<{ records: ServerRecord[]; report: InvariantReport }> {
  const start = Date.now();
  for (;;) {
    const records = await waitSettled(nodes, timeoutMs);
    const report = await checkPlacement(nodes, records);
    if ((report.overCapacity.length === 0 && report.claimProblems.length === 0) || Date.now() - start > timeoutMs) return { records, report };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
