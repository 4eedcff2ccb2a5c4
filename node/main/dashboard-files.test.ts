import { describe, expect, it } from "vitest";
import { buildPublicHttp } from "./public-http.ts";

const app = buildPublicHttp(() => ({ node: "n", name: "n1", peers: 0 }));

describe("the dashboard's static files on the public listener", () => {
  it("serves the page with a strict CSP, its scripts as JavaScript, and redirects /dashboard to /dashboard/", async () => {
    const page = await app.inject({ url: "/dashboard/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(page.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.body).toContain('<script type="module" src="app.js">');
    const js = await app.inject({ url: "/dashboard/views/servers.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toMatch(/^text\/javascript/);
    const bare = await app.inject({ url: "/dashboard" });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe("/dashboard/");
  });

  it("answers 404 for anything that is not one of its files: traversal, encoded traversal, other files of the repo", async () => {
    for (const url of ["/dashboard/../package.json", "/dashboard/%2e%2e/%2e%2e/package.json", "/dashboard/..%2f..%2fpackage.json", "/dashboard/views/../../node/main/agent.ts", "/dashboard/nope.js", "/dashboard/%00"]) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(404);
      expect(r.body, url).not.toContain("peerstack-agent");
    }
  });
});
