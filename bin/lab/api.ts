// The lab's OpenStack bootstrap, done through the API like a user would: when node 1 serves the
// identity API and has written an admin openrc, add Nova's default flavors, a demo project + user
// (member), the test image and a demo network when those services exist, and write <lab>/openrc.
// Each step reports "skipped: …" when the service it needs is not there yet.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LabConfig, nodeDir, nodeUrl } from "./config.ts";

export const FLAVORS = [
  { name: "m1.tiny", vcpus: 1, ram: 512, disk: 1 },
  { name: "m1.small", vcpus: 1, ram: 2048, disk: 20 },
  { name: "m1.medium", vcpus: 2, ram: 4096, disk: 40 },
  { name: "m1.large", vcpus: 4, ram: 8192, disk: 80 },
];

type Say = (line: string) => void;

export function parseOpenrc(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^export (OS_[A-Z_]+)=(?:'((?:[^']|'\\'')*)'|"([^"]*)"|(\S*))$/gm)) out[m[1]!] = (m[2]?.replaceAll(`'\\''`, "'") ?? m[3] ?? m[4] ?? "");
  return out;
}

/** An admin openrc written by node 1's agent (any file named *openrc* in its data dir). */
export function findAdminOpenrc(c: LabConfig): string | undefined {
  const d = nodeDir(c, 1);
  if (!existsSync(d)) return undefined;
  const f = readdirSync(d).find((n) => /openrc/.test(n));
  return f ? join(d, f) : undefined;
}

export async function call(method: string, url: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { "x-auth-token": token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, headers: res.headers };
}

export async function token(base: string, user: string, password: string, project: string): Promise<string | undefined> {
  const r = await call("POST", `${base}/identity/v3/auth/tokens`, undefined, {
    auth: { identity: { methods: ["password"], password: { user: { name: user, domain: { id: "default" }, password } } }, scope: { project: { name: project, domain: { id: "default" } } } },
  });
  return r.status === 201 ? (r.headers.get("x-subject-token") ?? undefined) : undefined;
}

/**
 * Returns the openrc written (and whether `openstack server create` can work: servers API and the
 * test image present), or undefined when the API is not there yet.
 */
export async function bootstrapOpenstack(c: LabConfig, say: Say): Promise<{ path: string; servers: boolean } | undefined> {
  const base = nodeUrl(c, 1);
  const probe = await call("GET", `${base}/identity/v3`, undefined).catch(() => ({ status: 0 }));
  if (probe.status !== 200) {
    say(`openstack API: skipped (node 1 does not serve ${base}/identity/v3 yet; /healthz and the operator socket's /mesh work)`);
    return undefined;
  }
  const adminFile = findAdminOpenrc(c);
  if (!adminFile) {
    say(`openstack API: skipped (no admin openrc in ${nodeDir(c, 1)})`);
    return undefined;
  }
  const admin = parseOpenrc(readFileSync(adminFile, "utf8"));
  const adminToken = await token(base, admin.OS_USERNAME ?? "admin", admin.OS_PASSWORD ?? "", admin.OS_PROJECT_NAME ?? "admin");
  if (!adminToken) {
    say("openstack API: skipped (the admin openrc's credentials were refused)");
    return undefined;
  }
  writeFileSync(join(c.dir, "admin-openrc"), readFileSync(adminFile, "utf8"), { mode: 0o600 });
  const flavors = await call("GET", `${base}/compute/v2.1/flavors`, adminToken);
  const have = new Set(((flavors.json.flavors as Array<{ name: string }>) ?? []).map((f) => f.name));
  for (const f of FLAVORS) if (!have.has(f.name)) await call("POST", `${base}/compute/v2.1/flavors`, adminToken, { flavor: { ...f, "os-flavor-access:is_public": true } });
  say(`flavors: ${FLAVORS.map((f) => f.name).join(", ")}`);

  const projects = await call("GET", `${base}/identity/v3/projects?name=demo`, adminToken);
  let project = (projects.json.projects as Array<{ id: string }> | undefined)?.[0]?.id;
  project ??= ((await call("POST", `${base}/identity/v3/projects`, adminToken, { project: { name: "demo", domain_id: "default" } })).json.project as { id: string } | undefined)?.id;
  const demoFile = join(c.dir, "openrc");
  const old = existsSync(demoFile) ? parseOpenrc(readFileSync(demoFile, "utf8")) : {};
  const password = old.OS_PASSWORD ?? randomBytes(12).toString("base64url");
  const users = await call("GET", `${base}/identity/v3/users?name=demo`, adminToken);
  let user = (users.json.users as Array<{ id: string }> | undefined)?.[0]?.id;
  // Re-set only a password that no longer works: a reset ends the demo user's tokens (api-gateway/identity/token-epoch.ts).
  if (user && !(await token(base, "demo", password, "demo"))) await call("PATCH", `${base}/identity/v3/users/${user}`, adminToken, { user: { password } });
  else user = ((await call("POST", `${base}/identity/v3/users`, adminToken, { user: { name: "demo", domain_id: "default", password, default_project_id: project } })).json.user as { id: string } | undefined)?.id;
  const roles = await call("GET", `${base}/identity/v3/roles?name=member`, adminToken);
  const member = (roles.json.roles as Array<{ id: string }> | undefined)?.[0]?.id;
  if (project && user && member) await call("PUT", `${base}/identity/v3/projects/${project}/users/${user}/roles/${member}`, adminToken);
  say(`project demo, user demo (member)`);
  const demoToken = await token(base, "demo", password, "demo");
  const image = await optionalServices(base, adminToken, demoToken ?? adminToken, say);
  const servers = (await call("GET", `${base}/compute/v2.1/servers`, demoToken ?? adminToken)).status === 200;
  if (!servers) say("servers: not served by this build yet (GET /compute/v2.1/servers)");
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(demoFile, [
    `export OS_AUTH_URL=${q(`${base}/identity/v3`)}`, "export OS_IDENTITY_API_VERSION=3", "export OS_USERNAME=demo", `export OS_PASSWORD=${q(password)}`,
    "export OS_PROJECT_NAME=demo", "export OS_USER_DOMAIN_NAME=Default", "export OS_PROJECT_DOMAIN_NAME=Default", `export OS_REGION_NAME=${q(admin.OS_REGION_NAME ?? "RegionOne")}`, "",
  ].join("\n"), { mode: 0o600 });
  return { path: demoFile, servers: servers && image };
}

/** The test image (Glance v2, public, by the admin) and the demo project's network (Neutron), when those APIs are real. */
async function optionalServices(base: string, tok: string, demoTok: string, say: Say): Promise<boolean> {
  let image = false;
  const images = await call("GET", `${base}/image/v2/images?name=peerstack-test`, tok).catch(() => ({ status: 0, json: {} as Record<string, unknown> }));
  if (images.status !== 200) say("image: skipped (no image API yet)");
  else if (((images.json.images as unknown[]) ?? []).length > 0) {
    say("image: peerstack-test (present)");
    image = true;
  }
  else {
    const { buildTestImage } = await import("../../drivers/guest/test-image.ts");
    say("image: building the test image (cached in .peerstack/images; the first build takes a while)");
    const built = await buildTestImage({ log: (m) => say(`  ${m}`) });
    const img = await call("POST", `${base}/image/v2/images`, tok, { name: "peerstack-test", disk_format: "qcow2", container_format: "bare", visibility: "public" });
    const id = (img.json as { id?: string }).id;
    if (id) {
      const res = await fetch(`${base}/image/v2/images/${id}/file`, { method: "PUT", headers: { "x-auth-token": tok, "content-type": "application/octet-stream" }, body: readFileSync(built.qcow2) });
      say(`image: peerstack-test ${res.ok ? "uploaded" : `upload failed (${res.status})`}`);
      image = res.ok;
    } else say(`image: create failed (${img.status})`);
  }
  const nets = await call("GET", `${base}/networking/v2.0/networks?name=demo`, demoTok).catch(() => ({ status: 0, json: {} as Record<string, unknown> }));
  if (nets.status !== 200) say("network: skipped (no network API yet)");
  else if (((nets.json.networks as unknown[]) ?? []).length > 0) say("network: demo (present)");
  else {
    const net = await call("POST", `${base}/networking/v2.0/networks`, demoTok, { network: { name: "demo" } });
    const id = (net.json.network as { id?: string } | undefined)?.id;
    if (id) await call("POST", `${base}/networking/v2.0/subnets`, demoTok, { subnet: { name: "demo", network_id: id, ip_version: 4, cidr: "192.168.77.0/24" } });
    say(`network: demo ${id ? "192.168.77.0/24" : `create failed (${net.status})`}`);
  }
  return image;
}
