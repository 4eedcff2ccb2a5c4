import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore } from "../../node/images/blob-store.ts";
import { MemoryBlobNet } from "../../node/images/blob-stream.ts";
import { ImageFetcher } from "../../node/images/fetcher.ts";
import { addHolder, holders } from "../../node/images/records.ts";
import { testGateway, type TestGateway } from "../testing/fixture.ts";
import { imageService } from "./plugin.ts";

const PATCH = "application/openstack-images-v2.1-json-patch";

describe("image API (Glance v2)", () => {
  let dir: string;
  let gw: TestGateway;
  let blobs: BlobStore;
  let admin: string;
  let net: MemoryBlobNet;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "psimg-api-"));
    blobs = new BlobStore(join(dir, "local"));
    net = new MemoryBlobNet();
    const lazy = { localPath: (id: string) => fetcher.localPath(id) };
    gw = await testGateway({ extra: { services: { image: imageService({ blobs, fetcher: lazy, maxImageBytes: 3_000_000 }) } } });
    const log = { info: () => {}, warn: () => {} };
    const fetcher = new ImageFetcher({}, { store: gw.store, blobs, net: net.node(gw.nodeKey.id), clock: gw.clock, log });
    admin = await gw.token();
  });
  afterAll(async () => {
    await gw.close();
    await rm(dir, { recursive: true, force: true });
  });

  const req = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, o: { token?: string; payload?: unknown; type?: string } = {}) =>
    gw.app.inject({ method, url: `/image${url}`, headers: { "x-auth-token": o.token ?? admin, ...(o.type ? { "content-type": o.type } : {}) }, payload: o.payload as string });

  async function create(body: Record<string, unknown>, token?: string) {
    const r = await req("POST", "/v2/images", { payload: body, token });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown>;
  }

  it("discovery lists versions", async () => {
    const r = await gw.app.inject({ method: "GET", url: "/image/" });
    expect(r.statusCode).toBe(300);
    expect(r.json().versions[0]).toMatchObject({ id: "v2.9", status: "CURRENT" });
  });

  it("create, upload (queued → active, size, checksum), show, download with Content-MD5", async () => {
    const img = await create({ name: "cirros", disk_format: "qcow2", container_format: "bare", min_ram: 64, tags: ["a"], os_distro: "cirros" });
    expect(img).toMatchObject({ status: "queued", visibility: "shared", size: null, checksum: null, os_distro: "cirros", min_ram: 64, tags: ["a"] });
    const data = randomBytes(1_500_000);
    const up = await req("PUT", `/v2/images/${img.id}/file`, { payload: data, type: "application/octet-stream" });
    expect(up.statusCode, up.body).toBe(204);
    const shown = (await req("GET", `/v2/images/${img.id}`)).json();
    expect(shown).toMatchObject({ status: "active", size: 1_500_000, checksum: createHash("md5").update(data).digest("hex"), os_hash_algo: "sha512", os_hash_value: createHash("sha512").update(data).digest("hex") });
    expect(holders(gw.store, String(img.id))).toEqual([gw.nodeKey.id]);
    const down = await req("GET", `/v2/images/${img.id}/file`);
    expect(down.statusCode).toBe(200);
    expect(down.headers["content-md5"]).toBe(shown.checksum);
    expect(Buffer.compare(down.rawPayload, data)).toBe(0);
    // a second upload: 409
    const again = await req("PUT", `/v2/images/${img.id}/file`, { payload: data, type: "application/octet-stream" });
    expect(again.statusCode).toBe(409);
  });

  it("413 for an image over the limit; the image goes back to queued", async () => {
    const img = await create({ name: "big", disk_format: "raw", container_format: "bare" });
    const r = await req("PUT", `/v2/images/${img.id}/file`, { payload: randomBytes(3_500_000), type: "application/octet-stream" });
    expect(r.statusCode).toBe(413);
    expect((await req("GET", `/v2/images/${img.id}`)).json().status).toBe("queued");
  });

  it("download fetches the bits from a holder peer when not local", async () => {
    const remote = new BlobStore(join(dir, "remote"));
    const rf = new ImageFetcher({}, { store: gw.store, blobs: remote, net: net.node("peer-R"), clock: gw.clock, log: { info: () => {}, warn: () => {} } });
    rf.start();
    const data = randomBytes(700_000);
    const d = await remote.ingest((async function* () { yield data; })());
    const img = await create({ name: "remote", disk_format: "raw", container_format: "bare" });
    await gw.store.put("image", String(img.id), { status: "active", size: d.size, checksum: d.md5, sha256: d.sha256, os_hash_algo: "sha512", os_hash_value: d.sha512 });
    await addHolder(gw.store, String(img.id), "peer-R");
    net.cutAfter = 300_000; // interrupted once: resumed
    const down = await req("GET", `/v2/images/${img.id}/file`);
    expect(down.statusCode).toBe(200);
    expect(Buffer.compare(down.rawPayload, data)).toBe(0);
    expect(holders(gw.store, String(img.id))).toEqual([gw.nodeKey.id, "peer-R"].sort());
  });

  it("download: a corrupt partial left from an interrupted fetch fails the checksum, is discarded and refetched", async () => {
    const remote = new BlobStore(join(dir, "remote2"));
    const rf = new ImageFetcher({}, { store: gw.store, blobs: remote, net: net.node("peer-S"), clock: gw.clock, log: { info: () => {}, warn: () => {} } });
    rf.start();
    const data = randomBytes(500_000);
    const d = await remote.ingest((async function* () { yield data; })());
    const img = await create({ name: "remote2", disk_format: "raw", container_format: "bare" });
    await gw.store.put("image", String(img.id), { status: "active", size: d.size, checksum: d.md5, sha256: d.sha256 });
    await addHolder(gw.store, String(img.id), "peer-S");
    const bad = Buffer.from(data.subarray(0, 200_000));
    bad[1234] ^= 0xff;
    await blobs.appendPartial(d.sha256, 0, (async function* () { yield bad; })());
    const down = await req("GET", `/v2/images/${img.id}/file`);
    expect(down.statusCode).toBe(200);
    expect(down.headers["content-md5"]).toBe(d.md5);
    expect(Buffer.compare(down.rawPayload, data)).toBe(0);
    // no holder can deliver: 503, nothing served
    const lost = await create({ name: "lost", disk_format: "raw", container_format: "bare" });
    await gw.store.put("image", String(lost.id), { status: "active", size: 5, checksum: "x", sha256: "1".repeat(64) });
    await addHolder(gw.store, String(lost.id), "peer-gone");
    expect((await req("GET", `/v2/images/${lost.id}/file`)).statusCode).toBe(503);
  });

  it("list filters, pagination with next link, PATCH, delete, protected 403, 404", async () => {
    for (const n of ["p1", "p2", "p3"]) await create({ name: n, disk_format: "raw", container_format: "bare", tags: ["page"] });
    const first = (await req("GET", "/v2/images?tag=page&limit=2")).json();
    expect(first.images).toHaveLength(2);
    expect(first.next).toMatch(/marker=/);
    const second = (await req("GET", first.next.replace(/^\/v2/, "/v2"))).json();
    expect(second.images).toHaveLength(1);
    expect(second.next).toBeUndefined();
    const byName = (await req("GET", "/v2/images?name=p2")).json().images;
    expect(byName.map((i: { name: string }) => i.name)).toEqual(["p2"]);
    const id = byName[0].id;
    const wrongType = await req("PATCH", `/v2/images/${id}`, { payload: [], type: "application/json" });
    expect(wrongType.statusCode).toBe(415);
    const p = await req("PATCH", `/v2/images/${id}`, { type: PATCH, payload: JSON.stringify([{ op: "replace", path: "/name", value: "renamed" }, { op: "add", path: "/hw_disk_bus", value: "virtio" }, { op: "replace", path: "/protected", value: true }]) });
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json()).toMatchObject({ name: "renamed", hw_disk_bus: "virtio", protected: true });
    // the v2.0 patch type, as Tempest's images client sends it
    const p20 = await req("PATCH", `/v2/images/${id}`, { type: "application/openstack-images-v2.0-json-patch", payload: JSON.stringify([{ op: "replace", path: "/name", value: "again" }]) });
    expect(p20.statusCode, p20.body).toBe(200);
    expect(p20.json().name).toBe("again");
    const bad = await req("PATCH", `/v2/images/${id}`, { type: PATCH, payload: JSON.stringify([{ op: "replace", path: "/status", value: "active" }]) });
    expect(bad.statusCode).toBe(403);
    expect((await req("DELETE", `/v2/images/${id}`)).statusCode).toBe(403);
    await req("PATCH", `/v2/images/${id}`, { type: PATCH, payload: JSON.stringify([{ op: "replace", path: "/protected", value: false }]) });
    expect((await req("DELETE", `/v2/images/${id}`)).statusCode).toBe(204);
    const gone = await req("GET", `/v2/images/${id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: "404 Not Found" });
  });

  it("project isolation: another project's private image is 404, public ones visible; publicize needs admin", async () => {
    const demo = await gw.app.inject({ method: "POST", url: "/identity/v3/projects", headers: { "x-auth-token": admin }, payload: { project: { name: "demo" } } });
    const pid = demo.json().project.id;
    const user = await gw.app.inject({ method: "POST", url: "/identity/v3/users", headers: { "x-auth-token": admin }, payload: { user: { name: "bob", password: "pw-bob", default_project_id: pid } } });
    const roles = (await gw.app.inject({ method: "GET", url: "/identity/v3/roles?name=member", headers: { "x-auth-token": admin } })).json().roles;
    await gw.app.inject({ method: "PUT", url: `/identity/v3/projects/${pid}/users/${user.json().user.id}/roles/${roles[0].id}`, headers: { "x-auth-token": admin } });
    const bob = await gw.token("bob", "pw-bob", "demo");
    const priv = await create({ name: "admins-private", visibility: "private" });
    const pub = await create({ name: "admins-public", visibility: "public" });
    expect((await req("GET", `/v2/images/${priv.id}`, { token: bob })).statusCode).toBe(404);
    expect((await req("GET", `/v2/images/${pub.id}`, { token: bob })).statusCode).toBe(200);
    const names = (await req("GET", "/v2/images", { token: bob })).json().images.map((i: { name: string }) => i.name);
    expect(names).toContain("admins-public");
    expect(names).not.toContain("admins-private");
    expect((await req("DELETE", `/v2/images/${pub.id}`, { token: bob })).statusCode).toBe(403);
    expect((await req("POST", "/v2/images", { token: bob, payload: { name: "x", visibility: "public" } })).statusCode).toBe(403);
    const own = await create({ name: "bobs" }, bob);
    expect(own.owner).toBe(pid);
    // members: a shared image becomes visible to a member project; listed once accepted
    const shared = await create({ name: "admins-shared", visibility: "shared" });
    expect((await req("GET", `/v2/images/${shared.id}`, { token: bob })).statusCode).toBe(404);
    expect((await req("POST", `/v2/images/${priv.id}/members`, { payload: { member: pid } })).statusCode).toBe(403);
    const m = await req("POST", `/v2/images/${shared.id}/members`, { payload: { member: pid } });
    expect(m.statusCode, m.body).toBe(200);
    expect(m.json()).toMatchObject({ member_id: pid, status: "pending", image_id: shared.id });
    expect((await req("POST", `/v2/images/${shared.id}/members`, { payload: { member: pid } })).statusCode).toBe(409);
    expect((await req("GET", `/v2/images/${shared.id}`, { token: bob })).statusCode).toBe(200);
    const listed = async () => (await req("GET", "/v2/images", { token: bob })).json().images.map((i: { name: string }) => i.name);
    expect(await listed()).not.toContain("admins-shared");
    expect((await req("PUT", `/v2/images/${shared.id}/members/${pid}`, { payload: { status: "accepted" } })).statusCode).toBe(200); // admin may
    expect((await req("PUT", `/v2/images/${shared.id}/members/${pid}`, { token: bob, payload: { status: "accepted" } })).json().status).toBe("accepted");
    expect(await listed()).toContain("admins-shared");
    expect((await req("DELETE", `/v2/images/${shared.id}/members/${pid}`, { token: bob })).statusCode).toBe(403);
    expect((await req("GET", `/v2/images/${shared.id}/members`)).json().members).toHaveLength(1);
    expect((await req("DELETE", `/v2/images/${shared.id}/members/${pid}`)).statusCode).toBe(204);
    expect((await req("GET", `/v2/images/${shared.id}`, { token: bob })).statusCode).toBe(404);
  });

  it("schemas", async () => {
    expect((await req("GET", "/v2/schemas/image")).json().name).toBe("image");
    expect((await req("GET", "/v2/schemas/images")).json().name).toBe("images");
  });
});
