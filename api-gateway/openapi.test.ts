// GET /openapi.json: an OpenAPI 3.1 document listing every route the gateway registered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument, pathParams, RouteRegistry } from "./openapi.ts";
import { testGateway, type TestGateway } from "./testing/fixture.ts";

describe("OpenAPI document", () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await testGateway({ publicUrl: "http://10.0.0.5:8774" });
  });
  afterAll(async () => {
    await g.close();
  });

  it("is served without a token and lists every registered operation with its path parameters", async () => {
    const res = await g.app.inject({ method: "GET", url: "/openapi.json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "http://10.0.0.5:8774" }]);
    const ops = g.app.apiRoutes.operations();
    expect(ops.length).toBeGreaterThan(80);
    for (const r of ops) {
      const path = r.url.replace(/:(\w+)/g, "{$1}") || "/";
      const op = doc.paths[path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.url}`).toBeDefined();
      expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(pathParams(r.url));
      expect(op.security === undefined).toBe(r.public);
    }
    const count = Object.values(doc.paths as Record<string, object>).reduce((n, p) => n + Object.keys(p).length, 0);
    expect(count).toBe(ops.length);
    const server = doc.paths["/compute/v2.1/servers/{id}"];
    expect(Object.keys(server).sort()).toEqual(["delete", "get", "put"]);
    expect(server.get.tags).toEqual(["compute"]);
    expect(server.get.security).toEqual([{ keystoneToken: [] }]);
    expect(doc.paths["/identity/v3/auth/tokens"].post.security).toBeUndefined();
    expect(doc.components.securitySchemes.keystoneToken).toEqual({ type: "apiKey", in: "header", name: "X-Auth-Token" });
  });

  it("a route's declared schemas are carried over", () => {
    const reg = new RouteRegistry();
    reg.onRoute({ method: ["GET", "HEAD"], url: "/x/:id/", handler: () => undefined, config: { public: true } } as never);
    reg.onRoute({ method: "POST", url: "/x", handler: () => undefined, schema: { body: { type: "object", required: ["x"] } } } as never);
    expect(reg.operations().map((r) => `${r.method} ${r.url}`)).toEqual(["GET /x/:id", "POST /x"]);
    const doc = openApiDocument(reg.routes, "http://h", "1") as { paths: Record<string, Record<string, any>> };
    expect(doc.paths["/x"].post.requestBody.content["application/json"].schema).toEqual({ type: "object", required: ["x"] });
    expect(doc.paths["/x/{id}"].get.security).toBeUndefined();
    expect(doc.paths["/x/{id}"].head).toBeUndefined();
  });

  it("operation ids are unique across the gateway", async () => {
    const doc = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
