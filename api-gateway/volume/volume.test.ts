// Route tests for the Cinder v3 plugin over a real CrdtStore, with the real quota escrow (node/quota) on a
// one-node in-memory mesh. No reconciler: volumes stay `creating` unless a test plays the owner.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryNetwork } from "../../node/mesh/memory-transport.ts";
import { quotaEscrow, type QuotaEscrow } from "../../node/quota/escrow.ts";
import { ownerRelease, quotaHolders, type OwnerRelease } from "../../node/quota/owner-release.ts";
import { MemoryKv } from "../../node/store/memory-kv.ts";
import { Hlc } from "../../protocol/hlc.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { testGateway, type TestGateway } from "../testing/fixture.ts";
import { volumeService } from "./plugin.ts";

describe("Cinder v3 routes", () => {
  let g: TestGateway;
  let q: QuotaEscrow;
  let owner: OwnerRelease;
  const removeAsOwner = async (kind: string, id: string) => {
    await g.store.remove(kind, id);
    await owner.idle();
  };
  let admin: string;
  let bob: string;
  let eve: string;
  let demo: string;
  let adminProject: string;

  beforeEach(async () => {
    const c = new ManualClock(Date.UTC(2026, 0, 1));
    const net = new MemoryNetwork({ clock: c, latencyMs: 1 });
    q = quotaEscrow({ timeoutMs: 50 })({ clock: c, random: new SeededRandom(5), transport: net.join("q0"), hlc: new Hlc({ node: "q0", clock: c }), kv: new MemoryKv() });
    await q.start();
    g = await testGateway({ clock: c, publicUrl: "http://h:8776", extra: { services: { volume: volumeService({ quota: q }) } } });
    // This gateway's node holds every volume here; its reconciler would remove them and return their quota.
    owner = ownerRelease({ self: g.nodeKey.id, store: g.store, quota: q, kinds: quotaHolders(() => ({})) });
    admin = await g.token();
    const h = { "x-auth-token": admin };
    const member = g.store.list("role", (r) => r.name === "member")[0]!;
    const ids: string[] = [];
    for (const [proj, user] of [["demo", "bob"], ["other", "eve"]]) {
      const p = (await g.app.inject({ method: "POST", url: "/identity/v3/projects", headers: h, payload: { project: { name: proj } } })).json().project;
      const u = (await g.app.inject({ method: "POST", url: "/identity/v3/users", headers: h, payload: { user: { name: user, password: `${user}-pw` } } })).json().user;
      await g.app.inject({ method: "PUT", url: `/identity/v3/projects/${p.id}/users/${u.id}/roles/${member.id}`, headers: h });
      ids.push(p.id);
      await q.initProject(p.id);
    }
    demo = ids[0]!;
    adminProject = g.store.list("project", (p) => p.name === "admin")[0]!.id;
    await q.initProject(adminProject);
    bob = await g.token("bob", "bob-pw", "demo");
    eve = await g.token("eve", "eve-pw", "other");
    await g.store.put("image", "img1", { name: "cirros", visibility: "public", status: "active", size: 3 * 1024 ** 3 + 1, min_disk: 0 });
  });
  afterEach(async () => {
    owner.stop();
    q.stop();
    await g.close();
  });

  const call = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, token?: string, payload?: unknown, headers: Record<string, string> = {}) =>
    g.app.inject({ method, url: `/volume${url}`, headers: { ...(token ? { "x-auth-token": token } : {}), ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });

  it("version discovery at /volume/ (300) and /volume/v3/; microversion echoed, out of range → 406", async () => {
    const root = await call("GET", "/");
    expect(root.statusCode).toBe(300);
    expect(root.json().versions[0]).toMatchObject({ id: "v3.0", status: "CURRENT", min_version: "3.0" });
    const v3 = await call("GET", "/v3/");
    expect(v3.statusCode).toBe(200);
    expect(v3.json().versions[0].links).toContainEqual({ rel: "self", href: "http://h:8776/volume/v3/" });
    const ok = await call("GET", "/v3/types", bob, undefined, { "openstack-api-version": "volume 3.44" });
    expect(ok.headers["openstack-api-version"]).toBe("volume 3.44");
    const bad = await call("GET", "/v3/types", bob, undefined, { "openstack-api-version": "volume 3.99" });
    expect(bad.statusCode).toBe(406);
    expect((await call("GET", "/v3/volumes")).statusCode).toBe(401);
  });

  it("volumes: create → creating on this node, list/detail/show at both URL forms, update, 404 and project isolation", async () => {
    const r = await call("POST", "/v3/volumes", bob, { volume: { size: 1, name: "v1", description: "first" } });
    expect(r.statusCode).toBe(202);
    const v = r.json().volume;
    expect(v).toMatchObject({ name: "v1", size: 1, status: "creating", bootable: "false", attachments: [], volume_type: "__DEFAULT__", availability_zone: "nova" });
    // the create answer has no extension attributes: Tempest's create_volume schema is additionalProperties False
    expect(v).not.toHaveProperty("os-vol-tenant-attr:tenant_id");
    expect(v["os-vol-host-attr:host"]).toBeUndefined(); // admins only
    expect((await call("GET", `/v3/volumes/${v.id}`, bob)).json().volume["os-vol-tenant-attr:tenant_id"]).toBe(demo);
    expect(g.store.get("volume", v.id)).toMatchObject({ host: g.nodeKey.id, status: "creating", pristine: true });
    const asAdmin = (await call("GET", `/v3/volumes/${v.id}`, admin)).json().volume;
    expect(asAdmin["os-vol-host-attr:host"]).toBe(g.nodeKey.id);

    const brief = (await call("GET", `/v3/${demo}/volumes`, bob)).json().volumes;
    expect(brief).toEqual([{ id: v.id, name: "v1", links: expect.any(Array) }]);
    const detail = (await call("GET", "/v3/volumes/detail?name=v1", bob)).json().volumes;
    expect(detail.map((x: { id: string }) => x.id)).toEqual([v.id]);
    expect((await call("GET", "/v3/volumes/detail?name=nope", bob)).json().volumes).toEqual([]);
    expect((await call("GET", `/v3/${demo}/volumes/${v.id}`, bob)).json().volume.description).toBe("first");

    const mismatch = await call("GET", `/v3/${adminProject}/volumes`, bob);
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json()).toEqual({ badRequest: { code: 400, message: "Malformed request url" } });

    const up = await call("PUT", `/v3/volumes/${v.id}`, bob, { volume: { name: "renamed", metadata: { k: "v" } } });
    expect(up.statusCode).toBe(200);
    expect(up.json().volume).toMatchObject({ name: "renamed", metadata: { k: "v" }, description: "first" });

    const missing = await call("GET", "/v3/volumes/nope", bob);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ itemNotFound: { code: 404, message: "Volume nope could not be found." } });
    expect((await call("GET", `/v3/volumes/${v.id}`, eve)).statusCode).toBe(404);
    expect((await call("GET", "/v3/volumes", eve)).json().volumes).toEqual([]);
    expect((await call("DELETE", `/v3/volumes/${v.id}`, eve)).statusCode).toBe(404);
    expect((await call("GET", "/v3/volumes/detail?all_tenants=1", admin)).json().volumes).toHaveLength(1);

    for (const body of [{ volume: { size: 0 } }, { volume: { size: "x" } }, { volume: {} }, { nope: 1 }, { volume: { size: 1, volume_type: "gold" } }, { volume: { size: 1, availability_zone: "mars" } }]) {
      const bad = await call("POST", "/v3/volumes", bob, body);
      expect([400, 404]).toContain(bad.statusCode);
      expect(Object.keys(bad.json())[0]).toMatch(/^(badRequest|itemNotFound)$/);
    }
  });

  it("from an image: size from the image, too small refused, unknown image refused", async () => {
    const r = await call("POST", "/v3/volumes", bob, { volume: { imageRef: "img1" } });
    expect(r.statusCode).toBe(202);
    expect(r.json().volume).toMatchObject({ size: 4, bootable: "true" });
    expect(r.json().volume).not.toHaveProperty("volume_image_metadata"); // create answer: Tempest's create_volume schema forbids it
    expect((await call("GET", `/v3/volumes/${r.json().volume.id}`, bob)).json().volume.volume_image_metadata).toEqual({ image_id: "img1" });
    expect((await call("POST", "/v3/volumes", bob, { volume: { imageRef: "img1", size: 2 } })).statusCode).toBe(400);
    expect((await call("POST", "/v3/volumes", bob, { volume: { imageRef: "nope", size: 2 } })).statusCode).toBe(400);
  });

  it("quota escrow: never over the limit, rights come back on delete; quota-sets show/usage/defaults/update", async () => {
    const h = { volume: { size: 10 } };
    const set = await call("PUT", `/v3/${adminProject}/os-quota-sets/${demo}`, admin, { quota_set: { volumes: 2, gigabytes: 25 } });
    expect(set.statusCode).toBe(200);
    expect(set.json().quota_set).toMatchObject({ volumes: 2, gigabytes: 25, snapshots: 10 });
    expect((await call("PUT", `/v3/os-quota-sets/${demo}`, bob, { quota_set: { volumes: 100 } })).statusCode).toBe(403);
    const a = (await call("POST", "/v3/volumes", bob, h)).json().volume;
    const b = (await call("POST", "/v3/volumes", bob, h)).json().volume;
    const third = await call("POST", "/v3/volumes", bob, { volume: { size: 1 } });
    expect(third.statusCode).toBe(413);
    expect(third.json().overLimit.message).toMatch(/Maximum number of volumes allowed \(2\) exceeded/);
    expect(g.store.list("volume")).toHaveLength(2);
    const usage = (await call("GET", `/v3/os-quota-sets/${demo}?usage=true`, bob)).json().quota_set;
    expect(usage.volumes).toEqual({ limit: 2, in_use: 2, reserved: 0, allocated: 0 });
    expect(usage.gigabytes).toMatchObject({ limit: 25, in_use: 20 });
    // the volumes are still creating: not deletable yet (Cinder's rule); the owner marks them available
    expect((await call("DELETE", `/v3/volumes/${a.id}`, bob)).statusCode).toBe(400);
    await g.store.put("volume", a.id, { status: "available" });
    expect((await call("DELETE", `/v3/volumes/${a.id}`, bob)).statusCode).toBe(202);
    expect(g.store.get("volume", a.id)?.status).toBe("deleting");
    expect((await call("DELETE", `/v3/volumes/${a.id}`, bob)).statusCode).toBe(202); // again: no second release
    const pending = (await call("GET", `/v3/os-quota-sets/${demo}?usage=true`, bob)).json().quota_set;
    expect(pending.volumes.in_use).toBe(2); // held until the owner has removed it
    await removeAsOwner("volume", a.id);
    const after = (await call("GET", `/v3/os-quota-sets/${demo}?usage=true`, bob)).json().quota_set;
    expect(after.volumes.in_use).toBe(1);
    expect(after.gigabytes.in_use).toBe(10);
    const big = await call("POST", "/v3/volumes", bob, { volume: { size: 16 } });
    expect(big.statusCode).toBe(413);
    expect(big.json().overLimit.message).toMatch(/Requested 16G, quota is 25G and 10G has been consumed/);
    expect((await call("POST", "/v3/volumes", bob, { volume: { size: 15 } })).statusCode).toBe(202);
    const limits = (await call("GET", "/v3/limits", bob)).json().limits.absolute;
    expect(limits).toMatchObject({ maxTotalVolumes: 2, totalVolumesUsed: 2, maxTotalVolumeGigabytes: 25, totalGigabytesUsed: 25 });
    const plain = (await call("GET", `/v3/${demo}/os-quota-sets/${demo}`, bob)).json().quota_set;
    expect(plain).toMatchObject({ id: demo, volumes: 2, gigabytes: 25, snapshots: 10, backups: 10, per_volume_gigabytes: -1 });
    expect((await call("GET", `/v3/os-quota-sets/${demo}`, eve)).statusCode).toBe(403);
    expect((await call("GET", `/v3/os-quota-sets/${demo}/defaults`, bob)).json().quota_set).toMatchObject({ volumes: 10, gigabytes: 1000, snapshots: 10 });
    expect((await call("PUT", `/v3/os-quota-sets/${demo}`, admin, { quota_set: { volumes: 1 } })).statusCode).toBe(400); // 2 in use
    void b;
  });

  it("snapshots CRUD; delete refused while attached or with snapshots, cascade deletes both; types", async () => {
    const v = (await call("POST", "/v3/volumes", bob, { volume: { size: 2, name: "data" } })).json().volume;
    expect((await call("POST", "/v3/snapshots", bob, { snapshot: { volume_id: v.id } })).statusCode).toBe(400); // creating
    await g.store.put("volume", v.id, { status: "available" });
    const s = await call("POST", "/v3/snapshots", bob, { snapshot: { volume_id: v.id, name: "s1" } });
    expect(s.statusCode).toBe(202);
    const snap = s.json().snapshot;
    expect(snap).toMatchObject({ name: "s1", volume_id: v.id, size: 2, status: "creating" });
    expect(g.store.get("volume_snapshot", snap.id)?.host).toBe(g.nodeKey.id);
    expect(g.store.get("volume", v.id)?.pristine).toBe(false);
    expect((await call("GET", "/v3/snapshots", bob)).json().snapshots.map((x: { id: string }) => x.id)).toEqual([snap.id]);
    expect((await call("GET", "/v3/snapshots/detail", eve)).json().snapshots).toEqual([]);
    expect((await call("PUT", `/v3/snapshots/${snap.id}`, bob, { snapshot: { name: "s2" } })).json().snapshot.name).toBe("s2");
    expect((await call("GET", `/v3/snapshots/${snap.id}`, eve)).statusCode).toBe(404);
    await g.store.put("volume_snapshot", snap.id, { status: "available" });

    const refused = await call("DELETE", `/v3/volumes/${v.id}`, bob);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().badRequest.message).toMatch(/must not be migrating, attached, belong to a group, have snapshots/);
    await g.store.put("server", "srv1", { project_id: demo, volumes_attached: [{ volumeId: v.id, device: "/dev/vdb" }] });
    expect((await call("DELETE", `/v3/volumes/${v.id}?cascade=true`, bob)).statusCode).toBe(400); // attached
    await g.store.put("server", "srv1", { volumes_attached: [] });
    const usedBefore = (await call("GET", `/v3/os-quota-sets/${demo}?usage=true`, bob)).json().quota_set;
    expect(usedBefore).toMatchObject({ snapshots: { in_use: 1 }, gigabytes: { in_use: 4 } });
    expect((await call("DELETE", `/v3/volumes/${v.id}?cascade=true`, bob)).statusCode).toBe(202);
    expect(g.store.get("volume_snapshot", snap.id)?.status).toBe("deleting");
    await removeAsOwner("volume_snapshot", snap.id);
    await removeAsOwner("volume", v.id);
    const usedAfter = (await call("GET", `/v3/os-quota-sets/${demo}?usage=true`, bob)).json().quota_set;
    expect(usedAfter).toMatchObject({ snapshots: { in_use: 0 }, gigabytes: { in_use: 0 }, volumes: { in_use: 0 } });

    const types = (await call("GET", "/v3/types", bob)).json().volume_types;
    expect(types).toHaveLength(1);
    expect(types[0]).toMatchObject({ name: "__DEFAULT__", is_public: true });
    expect((await call("GET", `/v3/types/${types[0].id}`, bob)).json().volume_type.name).toBe("__DEFAULT__");
    expect((await call("GET", "/v3/types/nope", bob)).statusCode).toBe(404);
    expect((await call("GET", "/v3/os-availability-zone", bob)).json().availabilityZoneInfo).toEqual([{ zoneName: "nova", zoneState: { available: true } }]);
    // `openstack volume service list`: a cinder-volume per host (admin only).
    await g.store.put("node", "edge-1", { name: "edge-1", az: "edge" });
    expect((await call("GET", "/v3/os-services", admin)).json().services).toContainEqual({ binary: "cinder-volume", host: "edge-1@peerstack", zone: "edge", status: "enabled", state: "up", updated_at: null, disabled_reason: null });
    expect((await call("GET", "/v3/os-services?host=edge-1&binary=cinder-scheduler", admin)).json().services).toEqual([]);
    expect((await call("GET", "/v3/os-services", bob)).statusCode).toBe(403);
    await g.store.remove("node", "edge-1");
  });
  it("Nova attach: available volume on the server's host → attaching; pristine elsewhere → moves to the server's host; used elsewhere → 409; detach → detaching", async () => {
    const nova = (method: "POST" | "DELETE", url: string, payload?: unknown) =>
      g.app.inject({ method, url: `/compute/v2.1${url}`, headers: { "x-auth-token": bob }, ...(payload ? { payload: payload as object } : {}) });
    await g.store.put("node", "node-b", { name: "host-b", az: "edge-b", addresses: [] });
    await g.store.put("server", "s-here", { project_id: demo, name: "a", host: g.nodeKey.id, status: "ACTIVE", vm_state: "active" });
    await g.store.put("server", "s-there", { project_id: demo, name: "b", host: "node-b", status: "ACTIVE", vm_state: "active" });
    const mk = async (extra: Record<string, unknown> = {}) => {
      const v = (await call("POST", "/v3/volumes", bob, { volume: { size: 1 } })).json().volume;
      await g.store.put("volume", v.id, { status: "available", ...extra });
      return v.id as string;
    };
    const v1 = await mk();
    expect((await nova("POST", "/servers/s-here/os-volume_attachments", { volumeAttachment: { volumeId: v1 } })).statusCode).toBe(200);
    expect(g.store.get("volume", v1)).toMatchObject({ status: "attaching", host: g.nodeKey.id });
    const again = await nova("POST", "/servers/s-there/os-volume_attachments", { volumeAttachment: { volumeId: v1 } });
    expect(again.statusCode).toBe(409); // attached to s-here already
    expect((await nova("DELETE", `/servers/s-here/os-volume_attachments/${v1}`)).statusCode).toBe(202);
    expect(g.store.get("volume", v1)?.status).toBe("detaching");

    const v2 = await mk();
    expect((await nova("POST", "/servers/s-there/os-volume_attachments", { volumeAttachment: { volumeId: v2 } })).statusCode).toBe(200);
    expect(g.store.get("volume", v2)).toMatchObject({ status: "attaching", host: "node-b", availability_zone: "edge-b" });

    const v3 = await mk({ pristine: false });
    const refused = await nova("POST", "/servers/s-there/os-volume_attachments", { volumeAttachment: { volumeId: v3 } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().conflictingRequest.message).toMatch(/attaches a volume only on the host that holds its data/);
    expect(g.store.get("volume", v3)).toMatchObject({ status: "available", host: g.nodeKey.id });
    expect(g.store.get("server", "s-there")?.volumes_attached).toEqual([{ id: v2, volumeId: v2, serverId: "s-there", device: "/dev/vdb" }]);

    await g.store.put("volume", v3, { status: "creating" });
    expect((await nova("POST", "/servers/s-here/os-volume_attachments", { volumeAttachment: { volumeId: v3 } })).statusCode).toBe(400);
    expect((await nova("POST", "/servers/s-here/os-volume_attachments", { volumeAttachment: { volumeId: "nope" } })).statusCode).toBe(404);
  });
  it("fuzz (fast-check, 300 requests): random paths, ids, queries and bodies on every Cinder route → no 5xx, 4xx in Cinder bodies", async () => {
    const v = (await call("POST", "/v3/volumes", bob, { volume: { size: 1 } })).json().volume.id as string;
    await g.store.put("volume", v, { status: "available" });
    const s = (await call("POST", "/v3/snapshots", bob, { snapshot: { volume_id: v } })).json().snapshot.id as string;
    const id = fc.constantFrom(v, s, demo, adminProject, "nope", "%00", "..", "a".repeat(300), "__DEFAULT__");
    const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -3, max: 5000 }), fc.double(), fc.boolean(), fc.constant(null), id);
    const fields = fc.dictionary(fc.constantFrom("size", "name", "description", "imageRef", "snapshot_id", "source_volid", "volume_type", "availability_zone", "metadata", "volume_id", "force", "new_size", "status", "volumes", "gigabytes", "snapshots", "backups"), fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 });
    const body = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.constantFrom("volume", "snapshot", "quota_set", "os-extend", "os-reset_status", "os-force_delete", "x"), fc.oneof(fields, scalar), { minKeys: 1, maxKeys: 2 }));
    const path = fc.oneof(
      fc.constantFrom("/volumes", "/volumes/detail", "/volumes/summary", "/snapshots", "/snapshots/detail", "/types", "/types/default", "/limits", "/os-availability-zone"),
      id.map((x) => `/volumes/${encodeURIComponent(x)}`),
      id.map((x) => `/volumes/${encodeURIComponent(x)}/action`),
      id.map((x) => `/snapshots/${encodeURIComponent(x)}`),
      id.map((x) => `/types/${encodeURIComponent(x)}`),
      id.map((x) => `/os-quota-sets/${encodeURIComponent(x)}`),
      id.map((x) => `/os-quota-sets/${encodeURIComponent(x)}/defaults`),
    );
    const req = fc.record({
      method: fc.constantFrom("GET", "POST", "PUT", "DELETE") as fc.Arbitrary<"GET" | "POST" | "PUT" | "DELETE">,
      prefix: fc.constantFrom("/v3", `/v3/${demo}`, `/v3/${adminProject}`),
      path,
      query: fc.constantFrom("", "?all_tenants=1", "?limit=1", "?limit=-1", "?marker=nope", "?sort=name:asc", "?usage=true", "?cascade=true&force=true", "?name=%00"),
      body,
      who: fc.constantFrom(bob, admin, eve),
    });
    await fc.assert(
      fc.asyncProperty(req, async (r) => {
        const res = await g.app.inject({ method: r.method, url: `/volume${r.prefix}${r.path}${r.query}`, headers: { "x-auth-token": r.who, "content-type": "application/json" }, ...(r.body === undefined || r.method === "GET" ? {} : { payload: JSON.stringify(r.body) }) });
        expect(res.statusCode, `${r.method} ${r.prefix}${r.path}${r.query} ${JSON.stringify(r.body)} → ${res.body}`).toBeLessThan(500);
        if (res.statusCode >= 400) expect(Object.values(res.json() as object)[0]).toMatchObject({ code: res.statusCode, message: expect.any(String) });
      }),
      { numRuns: 300, seed: 6 },
    );
  }, 60_000);
});
