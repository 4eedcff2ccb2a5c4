import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { CrdtStore } from "../node/store/crdt-store.ts";
import { openstackApi } from "./app.ts";
import { errorBody } from "./error-bodies.ts";
import { ItemNotFoundError } from "./errors.ts";
import { newNodeKey, putNodeRecord, testGateway, type TestGateway } from "./testing/fixture.ts";

/** Forwards every local change of each store to the others (what the replicator does over gossip). */
function link(stores: CrdtStore[]): void {
  for (const s of stores) s.onChange((c) => {
    if (c.local) for (const o of stores) if (o !== s) void o.applyRemote([c.delta]);
  });
}

describe("gateway app", () => {
  const open: TestGateway[] = [];
  afterEach(async () => {
    for (const g of open.splice(0)) await g.close();
  });

  it("a token issued by node A works on node B (offline verification), its catalog names A's endpoints, and B's revocation reaches A", async () => {
    const a = await testGateway({ publicUrl: "http://node-a:8774", seed: 1 });
    const keyB = await newNodeKey();
    const b = await testGateway({ publicUrl: "http://node-b:8774", seed: 2, nodeKey: keyB });
    open.push(a, b);
    await putNodeRecord(b.store, a.nodeKey);
    await putNodeRecord(a.store, keyB);
    link([a.store, b.store]);
    const issued = await a.app.inject({ method: "POST", url: "/identity/v3/auth/tokens", payload: { auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: "s3cret-admin" } } }, scope: { project: { name: "admin", domain: { name: "Default" } } } } } });
    const token = String(issued.headers["x-subject-token"]);
    expect(issued.json().token.catalog[0].endpoints[0].url).toMatch(/^http:\/\/node-a:8774\//);
    const onB = await b.app.inject({ url: "/compute/v2.1/flavors", headers: { "x-auth-token": token } });
    expect(onB.statusCode).toBe(200);
    expect((await b.app.inject({ method: "DELETE", url: "/identity/v3/auth/tokens", headers: { "x-auth-token": token, "x-subject-token": token } })).statusCode).toBe(204);
    // The linked apply is async: wait until the revocation lands on A.
    for (let i = 0; i < 50 && a.store.list("token_revocation").length === 0; i++) await new Promise((r) => setImmediate(r));
    expect((await a.app.inject({ url: "/compute/v2.1/flavors", headers: { "x-auth-token": token } })).statusCode).toBe(401);
  });

  it("a project created on one node is visible on the other once replicated", async () => {
    const a = await testGateway({ seed: 3 });
    const b = await testGateway({ seed: 4 });
    open.push(a, b);
    await putNodeRecord(b.store, a.nodeKey);
    link([a.store, b.store]);
    const token = await a.token();
    const p = (await a.app.inject({ method: "POST", url: "/identity/v3/projects", headers: { "x-auth-token": token }, payload: { project: { name: "edge" } } })).json().project;
    for (let i = 0; i < 50 && !b.store.get("project", p.id); i++) await new Promise((r) => setImmediate(r));
    expect((await b.app.inject({ url: `/identity/v3/projects/${p.id}`, headers: { "x-auth-token": token } })).json().project.name).toBe("edge");
  });

  it("serves the root document, version-only stubs for image/volume/network, and tolerates empty JSON bodies", async () => {
    const g = await testGateway();
    open.push(g);
    const root = await g.app.inject({ url: "/" });
    expect(root.statusCode).toBe(300);
    expect(root.headers["x-openstack-request-id"]).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(Object.keys(root.json().services)).toEqual(["identity", "compute", "image", "volume", "network"]);
    expect((await g.app.inject({ url: "/image" })).json().versions[0].id).toBe("v2.9");
    expect((await g.app.inject({ url: "/volume/v3" })).json().versions[0]).toMatchObject({ id: "v3.0", min_version: "3.0" });
    expect((await g.app.inject({ url: "/networking/" })).json().versions[0].id).toBe("v2.0");
    const token = await g.token();
    const nf = await g.app.inject({ url: "/networking/v2.0/nothing", headers: { "x-auth-token": token } });
    expect(nf.json()).toEqual({ NeutronError: { type: "NotFound", message: "The resource could not be found.", detail: "" } });
    const del = await g.app.inject({ method: "DELETE", url: "/compute/v2.1/os-keypairs/none", headers: { "x-auth-token": token, "content-type": "application/json" } });
    expect(del.statusCode).toBe(404);
    const bad = await g.app.inject({ method: "POST", url: "/identity/v3/projects", headers: { "x-auth-token": token, "content-type": "application/json" }, payload: "{nope" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe(400);
  });

  it("mounts into an existing fastify app (the agent's) through openstackApi", async () => {
    const g = await testGateway();
    open.push(g);
    const host = Fastify();
    host.get("/healthz", async () => ({ ok: true }));
    await host.register(openstackApi, { store: g.store, nodeKey: g.nodeKey, nodeInfo: { id: g.nodeKey.id, name: "n" }, clock: g.clock, random: g.random });
    expect((await host.inject({ url: "/healthz" })).statusCode).toBe(200);
    // The host has default router options: discovery must answer with and without the trailing slash.
    for (const url of ["/compute/v2.1", "/compute/v2.1/", "/compute", "/compute/", "/identity/v3", "/identity/v3/", "/identity", "/identity/", "/volume/v3/", "/networking/v2.0/"]) {
      expect((await host.inject({ url })).statusCode, url).toBeLessThan(400);
    }
    expect(host.gateway.tokens.nodeId).toBe(g.nodeKey.id);
    await host.close();
  });

  it("renders each service's OpenStack error body", () => {
    expect(errorBody("nova", 413, "Quota exceeded")).toEqual({ overLimit: { code: 413, message: "Quota exceeded" } });
    expect(errorBody("cinder", 404, "Volume x could not be found.")).toEqual({ itemNotFound: { code: 404, message: "Volume x could not be found." } });
    expect(errorBody("keystone", 403, "no")).toEqual({ error: { code: 403, title: "Forbidden", message: "no" } });
    expect(errorBody("neutron", 404, "Network n could not be found.", new ItemNotFoundError("network", "n"))).toEqual({ NeutronError: { type: "NetworkNotFound", message: "Network n could not be found.", detail: "" } });
    expect(errorBody("neutron", 409, "in use")).toEqual({ NeutronError: { type: "Conflict", message: "in use", detail: "" } });
    expect(errorBody("glance", 404, "No image found with ID x")).toEqual({ code: "404 Not Found", title: "Not Found", message: "No image found with ID x" });
    expect(errorBody("nova", 401, "auth")).toEqual({ error: { code: 401, title: "Unauthorized", message: "auth" } });
  });
});
