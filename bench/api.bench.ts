// API benchmark on one real `peerstack node` process (loopback, reconciler off so no VM boots):
// authenticated GET /compute/v2.1/servers (token verified once, then served from the cache) and
// POST /compute/v2.1/servers (quota from the escrow, record written to LevelDB, 202 before the auction
// ends), both driven by autocannon from this process. Prints req/s, median and p99 latency.
// Usage: node bench/api.bench.ts [seconds=10] [connections=20]
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";
import { startMesh } from "../test/helpers/mesh-process.ts";

interface Histogram { p50: number; p99: number; average: number; max: number }
interface Result { requests: Histogram & { total: number; average: number }; latency: Histogram; non2xx: number; errors: number; timeouts: number; "2xx": number; duration: number }
type Autocannon = (o: Record<string, unknown>) => Promise<Result>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 20);
const PASSWORD = "bench-api-secret";

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`autocannon in the same process as the client, ${connections} connections, ${seconds} s per run, agent and load generator share the cores`);

process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
process.env.PEERSTACK_RECONCILER = "off";
process.env.PEERSTACK_VCPUS = "100000";
process.env.PEERSTACK_RAM_MB = "100000000";
const mesh = await startMesh(1, { prefix: "psapi-bench-" });
try {
  const url = mesh.nodes[0].httpUrl;
  const auth = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } }, scope: { project: { name: "admin", domain: { id: "default" } } } } }),
  });
  if (auth.status !== 201) throw new Error(`auth: ${auth.status} ${await auth.text()}`);
  const token = auth.headers.get("x-subject-token")!;
  const project = ((await auth.json()) as { token: { project: { id: string } } }).token.project.id;
  const h = { "x-auth-token": token, "content-type": "application/json" };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${url}${path}`, { method, headers: { ...h, ...headers }, body: body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? (body as string) : JSON.stringify(body) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const quota = await call("PUT", `/compute/v2.1/os-quota-sets/${project}`, { quota_set: { instances: 1_000_000, cores: 1_000_000, ram: 1_000_000_000 } });
  const image = await call("POST", "/image/v2/images", { name: "bench", disk_format: "raw", container_format: "bare", visibility: "public" });
  await fetch(`${url}/image/v2/images/${image.id}/file`, { method: "PUT", headers: { "x-auth-token": token, "content-type": "application/octet-stream" }, body: "bench image bits" });
  const create = { server: { name: "bench-vm", flavorRef: "1", imageRef: image.id, networks: "none" } };
  for (let i = 0; i < 5; i++) await call("POST", "/compute/v2.1/servers", create, { "openstack-api-version": "compute 2.37" });
  console.log(`agent up; quota instances ${quota.quota_set.instances}; 5 servers listed by the GET run`);

  const report = (name: string, r: Result) =>
    console.log(`${name}: ${r.requests.average.toFixed(0)} req/s (total ${r.requests.total}, non-2xx ${r.non2xx}, errors ${r.errors}), latency median ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`);

  await autocannon({ url: `${url}/compute/v2.1/servers`, headers: { "x-auth-token": token }, connections, duration: 2 }); // warm-up
  const get = await autocannon({ url: `${url}/compute/v2.1/servers`, headers: { "x-auth-token": token }, connections, duration: seconds });
  report("GET /compute/v2.1/servers (authenticated, 5 servers)", get);

  const post = await autocannon({ url: `${url}/compute/v2.1/servers`, method: "POST", headers: { ...h, "openstack-api-version": "compute 2.37" }, body: JSON.stringify(create), connections: Math.min(connections, 10), duration: seconds });
  report("POST /compute/v2.1/servers (202, quota + LevelDB write, auction after)", post);
  const listed = await call("GET", "/compute/v2.1/servers?limit=100000");
  console.log(`servers in the catalog after the run: ${(listed.servers as unknown[]).length}`);
  if (get.non2xx > 0 || post.non2xx > 0) process.exitCode = 1;
} finally {
  await mesh.destroy();
}
