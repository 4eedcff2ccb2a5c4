// Credentials end when they should (issue 13, item 5): a password change, a disabled user or project and a
// deleted user end the tokens issued before, also after re-enabling; a token issued after the change works;
// unknown and known user names cost the same scrypt to refuse; a rename onto a taken name is 409; names with
// control characters are 400.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_COST, dummyHash, hashPassword, verifyPassword } from "./passwords.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { passwordAuth, testGateway, type TestGateway } from "../testing/fixture.ts";

describe("credentials end when they should", () => {
  let g: TestGateway;
  let admin: string;
  beforeEach(async () => {
    g = await testGateway();
    admin = await g.token();
  });
  afterEach(async () => g.close());

  const call = (method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", url: string, token?: string, payload?: unknown) =>
    g.app.inject({ method, url: `/identity/v3${url}`, headers: token ? { "x-auth-token": token } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const works = async (token: string) => (await g.app.inject({ url: "/compute/v2.1/servers", headers: { "x-auth-token": token } })).statusCode;

  async function member(name = "bob", password = "bob-pw", project = "demo") {
    const p = (await call("POST", "/projects", admin, { project: { name: project } })).json().project;
    const u = (await call("POST", "/users", admin, { user: { name, password } })).json().user;
    const role = (await call("GET", "/roles?name=member", admin)).json().roles[0];
    expect((await call("PUT", `/projects/${p.id}/users/${u.id}/roles/${role.id}`, admin)).statusCode).toBe(204);
    return { projectId: p.id as string, userId: u.id as string, token: await g.token(name, password, project) };
  }

  it("a self-service password change ends the user's older tokens; a token from the new password works", async () => {
    const bob = await member();
    const other = await g.token("bob", "bob-pw", "demo");
    expect(await works(bob.token)).toBe(200);
    const change = await call("POST", `/users/${bob.userId}/password`, bob.token, { user: { password: "new-pw", original_password: "bob-pw" } });
    expect(change.statusCode).toBe(204);
    expect(await works(bob.token)).toBe(401);
    expect(await works(other)).toBe(401);
    // Re-scoping an old token is refused too (the token method verifies it first).
    const rescope = await call("POST", "/auth/tokens", undefined, { auth: { identity: { methods: ["token"], token: { id: other } } } });
    expect(rescope.statusCode).toBe(401);
    expect(await works(await g.token("bob", "new-pw", "demo"))).toBe(200);
  });

  it("an admin setting the password (PATCH) ends the older tokens", async () => {
    const bob = await member();
    expect((await call("PATCH", `/users/${bob.userId}`, admin, { user: { password: "reset-pw" } })).statusCode).toBe(200);
    expect(await works(bob.token)).toBe(401);
    expect(await works(await g.token("bob", "reset-pw", "demo"))).toBe(200);
  });

  it("re-setting the same password (PATCH or self-service) ends no token; a different one still does", async () => {
    const bob = await member();
    const before = g.store.get("user", bob.userId);
    expect((await call("PATCH", `/users/${bob.userId}`, admin, { user: { password: "bob-pw", description: "re-seeded" } })).statusCode).toBe(200);
    expect((await call("POST", `/users/${bob.userId}/password`, bob.token, { user: { password: "bob-pw", original_password: "bob-pw" } })).statusCode).toBe(204);
    // Neither the hash nor the epoch was rewritten: only the description changed.
    expect(g.store.get("user", bob.userId)).toMatchObject({ password_hash: before?.password_hash, token_epoch: before?.token_epoch });
    expect(await works(bob.token)).toBe(200);
    expect((await call("PATCH", `/users/${bob.userId}`, admin, { user: { password: "bob-pw-2" } })).statusCode).toBe(200);
    expect(await works(bob.token)).toBe(401);
  });

  it("disabling a user ends its tokens for good: enabling it again does not revive them", async () => {
    const bob = await member();
    expect((await call("PATCH", `/users/${bob.userId}`, admin, { user: { enabled: false } })).statusCode).toBe(200);
    expect(await works(bob.token)).toBe(401);
    expect((await call("PATCH", `/users/${bob.userId}`, admin, { user: { enabled: true } })).statusCode).toBe(200);
    expect(await works(bob.token)).toBe(401);
    expect(await works(await g.token("bob", "bob-pw", "demo"))).toBe(200);
  });

  it("disabling a project ends the tokens scoped to it for good; the user's other tokens live on", async () => {
    const bob = await member();
    const unscoped = (await call("POST", "/auth/tokens", undefined, passwordAuth("bob", "bob-pw"))).headers["x-subject-token"] as string;
    expect((await call("PATCH", `/projects/${bob.projectId}`, admin, { project: { enabled: false } })).statusCode).toBe(200);
    expect((await call("PATCH", `/projects/${bob.projectId}`, admin, { project: { enabled: true } })).statusCode).toBe(200);
    expect(await works(bob.token)).toBe(401);
    expect((await call("GET", "/auth/projects", unscoped)).statusCode).toBe(200);
    expect(await works(await g.token("bob", "bob-pw", "demo"))).toBe(200);
  });

  it("deleting a user ends its tokens, and a new user of the same name does not inherit them", async () => {
    const bob = await member();
    expect((await call("DELETE", `/users/${bob.userId}`, admin)).statusCode).toBe(204);
    expect(await works(bob.token)).toBe(401);
    await member("bob", "bob-pw", "demo2");
    expect(await works(bob.token)).toBe(401);
  });

  it("renaming a user, project or group onto a name taken in its domain is 409; keeping its own name is fine", async () => {
    const bob = await member();
    const carol = (await call("POST", "/users", admin, { user: { name: "carol", password: "c" } })).json().user;
    const r = await call("PATCH", `/users/${carol.id}`, admin, { user: { name: "bob" } });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatchObject({ code: 409, title: "Conflict" });
    expect((await call("PATCH", `/users/${bob.userId}`, admin, { user: { name: "bob" } })).statusCode).toBe(200);
    const p2 = (await call("POST", "/projects", admin, { project: { name: "other" } })).json().project;
    expect((await call("PATCH", `/projects/${p2.id}`, admin, { project: { name: "demo" } })).statusCode).toBe(409);
    const g1 = (await call("POST", "/groups", admin, { group: { name: "g1" } })).json().group;
    const g2 = (await call("POST", "/groups", admin, { group: { name: "g2" } })).json().group;
    expect(g1.id).not.toBe(g2.id);
    expect((await call("PATCH", `/groups/${g2.id}`, admin, { group: { name: "g1" } })).statusCode).toBe(409);
  });

  it("names with control characters are 400 in Keystone's body, on create and rename", async () => {
    const bob = await member();
    for (const name of ["evil\u001b[2J", "tab\there", "nul\u0000", "del\u007f", "c1\u0085"]) {
      for (const [method, url, body] of [
        ["POST", "/users", { user: { name, password: "x" } }],
        ["PATCH", `/users/${bob.userId}`, { user: { name } }],
        ["POST", "/projects", { project: { name } }],
        ["PATCH", `/projects/${bob.projectId}`, { project: { name } }],
        ["POST", "/groups", { group: { name } }],
        ["POST", "/roles", { role: { name } }],
      ] as const) {
        const r = await call(method, url, admin, body);
        expect(r.statusCode, `${method} ${url} ${JSON.stringify(name)}`).toBe(400);
        expect(r.json().error).toMatchObject({ code: 400, title: "Bad Request" });
      }
    }
    expect((await call("POST", "/users", admin, { user: { name: "zoë 😀", password: "x" } })).statusCode).toBe(201);
  });

  it("a method object in auth.identity.methods is 400, not 500", async () => {
    for (const methods of [[{ toString: 1 }], [{}], [["password"]], [null], [1]]) {
      const r = await call("POST", "/auth/tokens", undefined, { auth: { identity: { methods, password: { user: { name: "admin", domain: { id: "default" }, password: "x" } } } } });
      expect(r.statusCode, JSON.stringify(methods)).toBe(400);
      expect(r.json().error.code).toBe(400);
    }
  });
});

describe("refusing unknown and known users costs the same", () => {
  it("the dummy hash has the configured cost, and no password matches it", async () => {
    const dummy = dummyHash(DEFAULT_COST);
    const real = await hashPassword("pw", new SeededRandom(1));
    expect(dummy.split("$").slice(0, 4)).toEqual(real.split("$").slice(0, 4));
    expect(await verifyPassword("", dummy)).toBe(false);
  });

  it("an unknown user name takes as long to refuse as a known one with a wrong password (real scrypt cost)", async () => {
    const g = await testGateway({ extra: { passwordCost: DEFAULT_COST } });
    try {
      await g.app.inject({ method: "POST", url: "/identity/v3/users", headers: { "x-auth-token": await g.token() }, payload: { user: { name: "known", password: "right" } } });
      const refuse = async (name: string) => {
        const t0 = performance.now();
        const r = await g.app.inject({ method: "POST", url: "/identity/v3/auth/tokens", payload: passwordAuth(name, "wrong") });
        expect(r.statusCode).toBe(401);
        return performance.now() - t0;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
      const known: number[] = [];
      const unknown: number[] = [];
      // Interleaved, so a busy moment of the machine hits both sides alike.
      for (let i = 0; i < 9; i++) {
        known.push(await refuse("known"));
        unknown.push(await refuse(`nobody-${i}`));
      }
      // Before: the dummy cost N=1024 against N=16384, a ratio near 1/16.
      expect(median(unknown) / median(known)).toBeGreaterThan(0.5);
    } finally {
      await g.close();
    }
  }, 60_000);
});
