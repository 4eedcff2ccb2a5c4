// Every 5xx is logged through pino with the request id the client saw (X-OpenStack-Request-Id) and
// fastify's reqId; the client gets the service's body without internals.
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { useErrorStyle } from "./error-bodies.ts";
import type { ServicePlugin } from "./service-stubs.ts";
import { testGateway } from "./testing/fixture.ts";

describe("5xx logging", () => {
  it("logs a failing route at error with requestId and reqId; answers Cinder's body", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const broken: ServicePlugin = async (app) => {
      useErrorStyle(app, "cinder");
      app.get("/v3/boom", async () => {
        throw new Error("disk on fire at /var/lib/secret");
      });
    };
    const g = await testGateway({ extra: { logger: pino({ level: "info" }, sink), services: { volume: broken } } });
    try {
      const res = await g.app.inject({ url: "/volume/v3/boom", headers: { "x-auth-token": await g.token() } });
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toMatch(/secret/);
      expect(JSON.stringify(res.json())).toMatch(/"code":500/);
      const logged = lines.find((l) => l.level === 50);
      expect(logged).toMatchObject({ requestId: res.headers["x-openstack-request-id"], msg: "request failed" });
      expect(logged?.reqId).toBeDefined();
      expect(JSON.stringify(logged?.err)).toMatch(/disk on fire/);
    } finally {
      await g.close();
    }
  });
});
