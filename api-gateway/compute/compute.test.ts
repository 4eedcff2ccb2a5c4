import { execFileSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testGateway, type TestGateway } from "../testing/fixture.ts";
import { negotiate } from "./microversion.ts";

describe("compute (Nova v2.1) routes", () => {
  let g: TestGateway;
  let admin: string;
  let bob: string;
  beforeEach(async () => {
    g = await testGateway({ publicUrl: "http://h:8774" });
    admin = await g.token();
    const h = { "x-auth-token": admin };
    const p = (await g.app.inject({ method: "POST", url: "/identity/v3/projects", headers: h, payload: { project: { name: "demo" } } })).json().project;
    const u = (await g.app.inject({ method: "POST", url: "/identity/v3/users", headers: h, payload: { user: { name: "bob", password: "bob-pw" } } })).json().user;
    const member = g.store.list("role", (r) => r.name === "member")[0];
    await g.app.inject({ method: "PUT", url: `/identity/v3/projects/${p.id}/users/${u.id}/roles/${member.id}`, headers: h });
    bob = await g.token("bob", "bob-pw", "demo");
  });
  afterEach(async () => g.close());

  const call = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, token: string, payload?: unknown, version?: string) =>
    g.app.inject({ method, url: `/compute/v2.1${url}`, headers: { "x-auth-token": token, ...(version ? { "openstack-api-version": `compute ${version}` } : {}) }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  it("discovery: /compute lists v2.0 and v2.1 with the microversion range, /compute/v2.1 the version", async () => {
    const list = (await g.app.inject({ url: "/compute/" })).json().versions;
    expect(list.map((v: { id: string }) => v.id)).toEqual(["v2.0", "v2.1"]);
    const v = (await g.app.inject({ url: "/compute/v2.1/" })).json().version;
    expect(v).toMatchObject({ id: "v2.1", status: "CURRENT", min_version: "2.1", version: "2.79" });
    expect(v.links[0].href).toBe("http://h:8774/compute/v2.1/");
  });

  it("microversions: both headers, latest, default 2.1; malformed is 400, out of range 406", async () => {
    expect(negotiate(undefined)).toBe(1);
    expect(negotiate("latest")).toBe(79);
    const viaNew = await call("GET", "/flavors", admin, undefined, "2.55");
    expect(viaNew.headers["openstack-api-version"]).toBe("compute 2.55");
    expect(viaNew.headers["x-openstack-nova-api-version"]).toBe("2.55");
    expect(viaNew.headers.vary).toContain("OpenStack-API-Version");
    expect(viaNew.json().flavors[0]).toHaveProperty("description");
    const legacy = await g.app.inject({ url: "/compute/v2.1/flavors", headers: { "x-auth-token": admin, "x-openstack-nova-api-version": "2.10" } });
    expect(legacy.headers["openstack-api-version"]).toBe("compute 2.10");
    expect(legacy.json().flavors[0]).not.toHaveProperty("description");
    const other = await g.app.inject({ url: "/compute/v2.1/flavors", headers: { "x-auth-token": admin, "openstack-api-version": "volume 3.5" } });
    expect(other.headers["openstack-api-version"]).toBe("compute 2.1");
    const tooHigh = await call("GET", "/flavors", admin, undefined, "2.200");
    expect(tooHigh.statusCode).toBe(406);
    expect(tooHigh.json().notAcceptable.code).toBe(406);
    const bad = await call("GET", "/flavors", admin, undefined, "two");
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toHaveProperty("badRequest");
  });

  it("flavors: bootstrap set, detail fields per microversion, show, 404 body", async () => {
    const detail = (await call("GET", "/flavors/detail", bob, undefined, "2.61")).json().flavors;
    expect(detail.map((f: { name: string }) => f.name)).toEqual(["m1.tiny", "m1.small", "m1.medium", "m1.large"]);
    expect(detail[0]).toMatchObject({ id: "1", ram: 512, vcpus: 1, disk: 1, swap: "", "OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": true, extra_specs: {}, description: null });
    expect(detail[0].links[0]).toEqual({ rel: "self", href: "http://h:8774/compute/v2.1/flavors/1" });
    expect((await call("GET", "/flavors/detail", bob, undefined, "2.75")).json().flavors[0].swap).toBe(0);
    expect((await call("GET", "/flavors/2", bob)).json().flavor.name).toBe("m1.small");
    expect((await call("GET", "/flavors/detail?minRam=4096", bob)).json().flavors.map((f: { id: string }) => f.id)).toEqual(["3", "4"]);
    expect((await call("GET", "/flavors?limit=2&marker=1", bob)).json().flavors.map((f: { id: string }) => f.id)).toEqual(["2", "3"]);
    const missing = await call("GET", "/flavors/nope", bob);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ itemNotFound: { code: 404, message: "Flavor nope could not be found." } });
  });

  it("flavor create/delete: admin only (403 forbidden body), validation 400, duplicate 409, private flavors hidden", async () => {
    const body = { flavor: { name: "c1", ram: 128, vcpus: 2, disk: 0, id: "c1-id", description: "d" } };
    const denied = await call("POST", "/flavors", bob, body, "2.55");
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed." } });
    expect((await call("POST", "/flavors", admin, body, "2.54")).statusCode).toBe(400);
    const created = await call("POST", "/flavors", admin, body, "2.55");
    expect(created.statusCode).toBe(200);
    expect(created.json().flavor).toMatchObject({ id: "c1-id", name: "c1", ram: 128, vcpus: 2, disk: 0, description: "d" });
    expect((await call("POST", "/flavors", admin, { flavor: { ...body.flavor, id: "other" } }, "2.55")).json()).toEqual({ conflictingRequest: { code: 409, message: "Flavor with name c1 already exists." } });
    expect((await call("POST", "/flavors", admin, { flavor: { name: "bad", ram: -1, vcpus: 1, disk: 0 } })).statusCode).toBe(400);
    expect((await call("POST", "/flavors", admin, { flavor: { name: "strs", ram: "64", vcpus: "1", disk: "0" } })).json().flavor.ram).toBe(64);

    const priv = (await call("POST", "/flavors", admin, { flavor: { name: "secret", ram: 64, vcpus: 1, disk: 0, "os-flavor-access:is_public": false } })).json().flavor;
    expect((await call("GET", `/flavors/${priv.id}`, bob)).statusCode).toBe(404);
    expect((await call("GET", "/flavors", bob)).json().flavors.map((f: { name: string }) => f.name)).not.toContain("secret");
    expect((await call("GET", "/flavors?is_public=none", admin)).json().flavors.map((f: { name: string }) => f.name)).toContain("secret");

    expect((await call("POST", "/flavors/c1-id/os-extra_specs", admin, { extra_specs: { "hw:numa_nodes": 1 } })).json()).toEqual({ extra_specs: { "hw:numa_nodes": "1" } });
    expect((await call("GET", "/flavors/c1-id/os-extra_specs", bob)).json().extra_specs).toEqual({ "hw:numa_nodes": "1" });
    expect((await call("DELETE", "/flavors/c1-id", bob)).statusCode).toBe(403);
    expect((await call("DELETE", "/flavors/c1-id", admin)).statusCode).toBe(202);
    expect((await call("GET", "/flavors/c1-id", admin)).statusCode).toBe(404);
  });

  it("os-flavor-access: a private flavor shared with a project becomes visible to its members", async () => {
    const priv = (await call("POST", "/flavors", admin, { flavor: { name: "shared", ram: 64, vcpus: 1, disk: 0, "os-flavor-access:is_public": false } })).json().flavor;
    const demo = g.store.list("project", (p) => p.name === "demo")[0].id;
    expect((await call("GET", `/flavors/${priv.id}`, bob)).statusCode).toBe(404);
    const added = await call("POST", `/flavors/${priv.id}/action`, admin, { addTenantAccess: { tenant: demo } });
    expect(added.json()).toEqual({ flavor_access: [{ flavor_id: priv.id, tenant_id: demo }] });
    expect((await call("POST", `/flavors/${priv.id}/action`, admin, { addTenantAccess: { tenant: demo } })).statusCode).toBe(409);
    expect((await call("POST", `/flavors/${priv.id}/action`, bob, { addTenantAccess: { tenant: demo } })).statusCode).toBe(403);
    expect((await call("GET", `/flavors/${priv.id}`, bob)).statusCode).toBe(200);
    expect((await call("GET", "/flavors", bob)).json().flavors.map((f: { name: string }) => f.name)).toContain("shared");
    expect((await call("GET", `/flavors/${priv.id}/os-flavor-access`, admin)).json().flavor_access).toHaveLength(1);
    expect((await call("POST", `/flavors/${priv.id}/action`, admin, { removeTenantAccess: { tenant: demo } })).json().flavor_access).toEqual([]);
    expect((await call("GET", `/flavors/${priv.id}`, bob)).statusCode).toBe(404);
    expect((await call("GET", "/flavors/1/os-flavor-access", admin)).statusCode).toBe(409);
  });

  it("keypairs: generate (private key matches the stored public key), import, list, show, delete; per user", async () => {
    const gen = await call("POST", "/os-keypairs", bob, { keypair: { name: "k1" } }, "2.10");
    expect(gen.statusCode).toBe(201);
    const k = gen.json().keypair;
    expect(k).toMatchObject({ name: "k1", type: "ssh" });
    const fromPrivate = createPublicKey(k.private_key).export({ format: "jwk" });
    const blob = Buffer.from(k.public_key.split(" ")[1], "base64");
    expect(blob.includes(Buffer.from(fromPrivate.n!, "base64url"))).toBe(true);
    expect(JSON.stringify(g.store.list("keypair"))).not.toContain("PRIVATE");

    const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHjIJz6QeYBzKXm+9bvTE2jB9XG7HQNOXWH1Ywno4r4D test@host";
    const imported = await call("POST", "/os-keypairs", bob, { keypair: { name: "k2", public_key: pub } }, "2.1");
    expect(imported.statusCode).toBe(200);
    expect(imported.json().keypair).not.toHaveProperty("private_key");
    expect(imported.json().keypair.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect((await call("POST", "/os-keypairs", bob, { keypair: { name: "k2", public_key: pub } })).json()).toEqual({ conflictingRequest: { code: 409, message: "Key pair 'k2' already exists." } });
    expect((await call("POST", "/os-keypairs", bob, { keypair: { name: "k3", public_key: "ssh-rsa bm90IGEga2V5" } })).statusCode).toBe(400);
    expect((await call("POST", "/os-keypairs", bob, { keypair: { name: "bad/name", public_key: pub } })).statusCode).toBe(400);

    const list = (await call("GET", "/os-keypairs", bob, undefined, "2.2")).json().keypairs;
    expect(list.map((x: { keypair: { name: string; type: string } }) => x.keypair.name)).toEqual(["k1", "k2"]);
    expect((await call("GET", "/os-keypairs", admin)).json().keypairs).toEqual([]);
    const show = (await call("GET", "/os-keypairs/k2", bob)).json().keypair;
    expect(show).toMatchObject({ name: "k2", public_key: pub, deleted: false });
    expect((await call("GET", "/os-keypairs/k2", admin)).statusCode).toBe(404);
    const bobId = g.store.list("user", (u) => u.name === "bob")[0].id;
    expect((await call("GET", `/os-keypairs/k2?user_id=${bobId}`, admin, undefined, "2.10")).statusCode).toBe(200);
    expect((await call("GET", `/os-keypairs?user_id=${g.boot.adminUserId}`, bob, undefined, "2.10")).statusCode).toBe(403);
    expect((await call("DELETE", "/os-keypairs/k2", bob, undefined, "2.2")).statusCode).toBe(204);
    expect((await call("DELETE", "/os-keypairs/k2", bob)).json()).toEqual({ itemNotFound: { code: 404, message: `Keypair k2 not found for user ${bobId}` } });
  });

  it("the fingerprint of an imported key equals ssh-keygen's MD5 fingerprint", async () => {
    const dir = execFileSync("mktemp", ["-d", "/tmp/psapi-XXXXXX"]).toString().trim();
    execFileSync("ssh-keygen", ["-t", "rsa", "-b", "2048", "-N", "", "-q", "-f", `${dir}/k`]);
    const pub = execFileSync("cat", [`${dir}/k.pub`]).toString();
    const want = execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", `${dir}/k.pub`]).toString().split(" ")[1].replace("MD5:", "");
    execFileSync("rm", ["-rf", dir]);
    expect((await call("POST", "/os-keypairs", bob, { keypair: { name: "rsa", public_key: pub } })).json().keypair.fingerprint).toBe(want);
  });

  it("limits (stub quotas) count the project's servers; availability zones from node records", async () => {
    const limits = (await call("GET", "/limits", bob)).json().limits;
    expect(limits.rate).toEqual([]);
    expect(limits.absolute).toMatchObject({ maxTotalInstances: 10, maxTotalCores: 20, maxTotalRAMSize: 51200, totalInstancesUsed: 0, maxPersonality: 5 });
    const demo = g.store.list("project", (p) => p.name === "demo")[0].id;
    await g.store.put("server", "s1", { project_id: demo, vcpus: 2, ram: 1024 });
    expect((await call("GET", "/limits", bob, undefined, "2.57")).json().limits.absolute).toMatchObject({ totalInstancesUsed: 1, totalCoresUsed: 2, totalRAMUsed: 1024 });
    expect((await call("GET", "/limits", bob, undefined, "2.57")).json().limits.absolute).not.toHaveProperty("maxPersonality");
    expect((await call("GET", `/limits?tenant_id=${g.boot.adminProjectId}`, bob)).statusCode).toBe(403);

    await g.store.put("node", "other-node", { name: "edge-2", az: "site-b", publicKey: "" });
    const zones = (await call("GET", "/os-availability-zone", bob)).json().availabilityZoneInfo;
    expect(zones).toEqual([
      { zoneName: "nova", zoneState: { available: true }, hosts: null },
      { zoneName: "site-b", zoneState: { available: true }, hosts: null },
    ]);
    expect((await call("GET", "/os-availability-zone/detail", bob)).statusCode).toBe(403);
    expect((await call("GET", "/os-availability-zone/detail", admin)).json().availabilityZoneInfo[1].hosts).toHaveProperty("edge-2");
  });

  it("no token: 401 with Keystone's body and WWW-Authenticate; unknown route: Nova 404", async () => {
    const res = await g.app.inject({ url: "/compute/v2.1/flavors" });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Keystone uri="http://h:8774/identity"');
    const bogus = await g.app.inject({ url: "/compute/v2.1/flavors", headers: { "x-auth-token": "garbage" } });
    expect(bogus.statusCode).toBe(401);
    const nf = await call("GET", "/os-nothing", admin);
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toHaveProperty("itemNotFound");
  });
});
