// Issue 13, item 5 across processes: two real agents. A token issued on node A stops working on A within a
// few seconds of its user changing the password on node B; likewise when B disables the token's project or
// deletes its user. Only OpenStack API routes are used (the replicated records carry the revocation).
// And what must not revoke: an agent killed and restarted, and the same password set again (as
// `peerstack lab up` re-seeds its demo user on every run).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitFor, type Mesh } from "../helpers/mesh-process.ts";

const PASSWORD = "revocation-admin-secret";
const REVOKED_WITHIN_MS = 5_000;

describe("token revocation replicates between agents", () => {
  let mesh: Mesh;
  let admin = "";
  const url = (node: number) => mesh.nodes[node].httpUrl;
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    process.env.PEERSTACK_RECONCILER = "off";
    mesh = await startMesh(2, { prefix: "psrevoke-" });
    admin = await waitFor("an admin token", () => token(0, "admin", PASSWORD, "admin"), 30_000, 200);
    // Node B knows the admin once the identity records reached it.
    await waitFor("the admin token accepted on node B", async () => (await call(1, "GET", "/identity/v3/users", admin)).status === 200, 30_000, 200);
  }, 120_000);
  afterAll(async () => {
    await mesh?.destroy();
    for (const [k, v] of [["PEERSTACK_ADMIN_PASSWORD", saved.pw], ["PEERSTACK_RECONCILER", saved.rc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  async function call(node: number, method: string, path: string, tok?: string, body?: unknown) {
    const res = await fetch(`${url(node)}${path}`, {
      method,
      headers: { ...(tok ? { "x-auth-token": tok } : {}), ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  }

  async function token(node: number, user: string, password: string, project: string): Promise<string | undefined> {
    const r = await call(node, "POST", "/identity/v3/auth/tokens", undefined, {
      auth: { identity: { methods: ["password"], password: { user: { name: user, domain: { id: "default" }, password } } }, scope: { project: { name: project, domain: { id: "default" } } } },
    });
    return r.status === 201 ? (r.headers.get("x-subject-token") ?? undefined) : undefined;
  }

  /** A project and a member user made on node A, known to node B; the member's token issued on A. */
  async function member(name: string) {
    const project = (await call(0, "POST", "/identity/v3/projects", admin, { project: { name: `${name}-proj` } })).body.project;
    const user = (await call(0, "POST", "/identity/v3/users", admin, { user: { name, password: `${name}-pw` } })).body.user;
    const role = (await call(0, "GET", "/identity/v3/roles?name=member", admin)).body.roles[0];
    expect((await call(0, "PUT", `/identity/v3/projects/${project.id}/users/${user.id}/roles/${role.id}`, admin)).status).toBe(204);
    const tokenOnA = (await token(0, name, `${name}-pw`, `${name}-proj`))!;
    await waitFor(`${name}'s token accepted on node B`, async () => (await call(1, "GET", "/compute/v2.1/servers", tokenOnA)).status === 200, 20_000, 100);
    return { projectId: project.id as string, userId: user.id as string, tokenOnA };
  }

  /** Milliseconds until node A refuses `tok` (401), polling. */
  async function refusedOnA(tok: string): Promise<number> {
    const start = Date.now();
    await waitFor("node A refusing the token", async () => (await call(0, "GET", "/compute/v2.1/servers", tok)).status === 401, 20_000, 50);
    return Date.now() - start;
  }

  it("password changed on B: the token issued on A is refused on A; a token from the new password works", async () => {
    const bob = await member("bob");
    expect((await call(0, "GET", "/compute/v2.1/servers", bob.tokenOnA)).status).toBe(200);
    const change = await call(1, "POST", `/identity/v3/users/${bob.userId}/password`, bob.tokenOnA, { user: { password: "bob-new-pw", original_password: "bob-pw" } });
    expect(change.status).toBe(204);
    const ms = await refusedOnA(bob.tokenOnA);
    console.log(`token issued on A refused on A ${ms} ms after the password change on B`);
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
    const fresh = await waitFor("a token from the new password on A", () => token(0, "bob", "bob-new-pw", "bob-proj"), 10_000, 100);
    expect((await call(0, "GET", "/compute/v2.1/servers", fresh)).status).toBe(200);
  }, 60_000);

  it("project disabled on B, then enabled again: the token issued on A stays refused", async () => {
    const carol = await member("carol");
    expect((await call(1, "PATCH", `/identity/v3/projects/${carol.projectId}`, admin, { project: { enabled: false } })).status).toBe(200);
    expect((await call(1, "PATCH", `/identity/v3/projects/${carol.projectId}`, admin, { project: { enabled: true } })).status).toBe(200);
    const ms = await refusedOnA(carol.tokenOnA);
    console.log(`token refused on A ${ms} ms after its project was disabled and re-enabled on B`);
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
  }, 60_000);

  it("B killed (-9) and restarted, the same password set again: tokens issued before work on both nodes; a real change still ends them", async () => {
    const erin = await member("erin");
    const tokenOnB = (await token(1, "erin", "erin-pw", "erin-proj"))!;
    await mesh.nodes[1].kill9();
    await mesh.nodes[1].start(60_000);
    const servers = (node: number, tok: string) => call(node, "GET", "/compute/v2.1/servers", tok);
    await waitFor("the restarted node B accepting the tokens issued before", async () => (await servers(1, erin.tokenOnA)).status === 200 && (await servers(1, tokenOnB)).status === 200 && (await servers(1, admin)).status === 200, 30_000, 200);
    expect((await servers(0, tokenOnB)).status).toBe(200);
    const reseed = await call(1, "PATCH", `/identity/v3/users/${erin.userId}`, admin, { user: { password: "erin-pw", description: "re-seeded" } });
    expect(reseed.status).toBe(200);
    await waitFor("node A seeing the re-seed", async () => (await call(0, "GET", `/identity/v3/users/${erin.userId}`, admin)).body.user?.description === "re-seeded", 20_000, 100);
    for (const [node, tok] of [[0, erin.tokenOnA], [0, tokenOnB], [1, erin.tokenOnA], [1, tokenOnB]] as const) expect((await servers(node, tok)).status, `node ${node}`).toBe(200);
    expect((await call(1, "PATCH", `/identity/v3/users/${erin.userId}`, admin, { user: { password: "erin-new-pw" } })).status).toBe(200);
    const ms = await refusedOnA(erin.tokenOnA);
    console.log(`after a restart of B: token issued on A refused on A ${ms} ms after a real password change on B`);
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
    expect((await servers(1, tokenOnB)).status).toBe(401);
  }, 120_000);

  it("user deleted on B: the token issued on A is refused on A", async () => {
    const dave = await member("dave");
    expect((await call(1, "DELETE", `/identity/v3/users/${dave.userId}`, admin)).status).toBe(204);
    const ms = await refusedOnA(dave.tokenOnA);
    console.log(`token refused on A ${ms} ms after its user was deleted on B`);
    expect(ms).toBeLessThan(REVOKED_WITHIN_MS);
  }, 60_000);
});
