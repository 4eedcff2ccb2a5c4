import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { ADMIN_PASSWORD, passwordAuth, testGateway, type TestGateway } from "../testing/fixture.ts";

describe("identity (Keystone v3) routes", () => {
  let g: TestGateway;
  let admin: string;
  beforeEach(async () => {
    g = await testGateway({ publicUrl: "http://10.1.2.3:8774" });
    admin = await g.token();
  });
  afterEach(async () => g.close());

  const call = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD", url: string, token?: string, payload?: unknown, headers: Record<string, string> = {}) =>
    g.app.inject({ method, url: `/identity/v3${url}`, headers: { ...(token ? { "x-auth-token": token } : {}), ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  async function member(name = "bob", password = "bob-pw", project = "demo") {
    const p = (await call("POST", "/projects", admin, { project: { name: project, domain_id: "default" } })).json().project;
    const u = (await call("POST", "/users", admin, { user: { name, password, domain_id: "default" } })).json().user;
    const roles = (await call("GET", "/roles?name=member", admin)).json().roles;
    expect((await call("PUT", `/projects/${p.id}/users/${u.id}/roles/${roles[0].id}`, admin)).statusCode).toBe(204);
    return { project: p, user: u, token: await g.token(name, password, project) };
  }

  it("discovery: GET /identity is 300 with v3, GET /identity/v3 the version, links from publicUrl", async () => {
    const root = await g.app.inject({ url: "/identity" });
    expect(root.statusCode).toBe(300);
    expect(root.json().versions.values[0]).toMatchObject({ id: "v3.14", status: "stable", links: [{ rel: "self", href: "http://10.1.2.3:8774/identity/v3/" }] });
    const v3 = await g.app.inject({ url: "/identity/v3/" });
    expect(v3.json().version.id).toBe("v3.14");
  });

  it("password auth by name+domain or by id, project scope by name+domain or id; token body and catalog", async () => {
    const byName = await call("POST", "/auth/tokens", undefined, passwordAuth("admin", ADMIN_PASSWORD, "admin"));
    expect(byName.statusCode).toBe(201);
    expect(String(byName.headers["x-subject-token"])).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const t = byName.json().token;
    expect(t).toMatchObject({ methods: ["password"], user: { id: g.boot.adminUserId, name: "admin", domain: { id: "default", name: "Default" } }, project: { id: g.boot.adminProjectId, name: "admin" } });
    expect(t.roles.map((r: { name: string }) => r.name).sort()).toEqual(["admin", "member", "reader"]);
    expect(t.expires_at).toMatch(/^2026-01-01T01:00:00\.000000Z$/);
    const compute = t.catalog.find((s: { type: string }) => s.type === "compute");
    expect(compute.endpoints).toHaveLength(3);
    expect(compute.endpoints[0]).toMatchObject({ region: "RegionOne", url: "http://10.1.2.3:8774/compute/v2.1" });

    const byId = await call("POST", "/auth/tokens?nocatalog", undefined, {
      auth: { identity: { methods: ["password"], password: { user: { id: g.boot.adminUserId, password: ADMIN_PASSWORD } } }, scope: { project: { id: g.boot.adminProjectId } } },
    });
    expect(byId.statusCode).toBe(201);
    expect(byId.json().token.catalog).toBeUndefined();
    expect(byId.json().token.project.id).toBe(g.boot.adminProjectId);
  });

  it("refuses a wrong password, an unknown user and an unknown domain with Keystone's 401 body", async () => {
    for (const body of [passwordAuth("admin", "nope", "admin"), passwordAuth("ghost", ADMIN_PASSWORD, "admin")]) {
      const res = await call("POST", "/auth/tokens", undefined, body);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { code: 401, title: "Unauthorized", message: "The request you have made requires authentication." } });
    }
    const badDomain = await call("POST", "/auth/tokens", undefined, { auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { name: "Other" }, password: ADMIN_PASSWORD } } } } });
    expect(badDomain.statusCode).toBe(401);
    const malformed = await call("POST", "/auth/tokens", undefined, { auth: {} });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatchObject({ code: 400, title: "Bad Request" });
  });

  it("scoping to a project without a role is refused; the token method re-scopes, keeping expiry and audit chain", async () => {
    const m = await member();
    const adminOnDemo = await call("POST", "/auth/tokens", undefined, passwordAuth("admin", ADMIN_PASSWORD, "demo"));
    expect(adminOnDemo.statusCode).toBe(401);

    const unscoped = await call("POST", "/auth/tokens", undefined, { auth: { identity: { methods: ["password"], password: { user: { name: "bob", domain: { id: "default" }, password: "bob-pw" } } } } });
    expect(unscoped.statusCode).toBe(201);
    expect(unscoped.json().token.project).toBeUndefined();
    const unscopedToken = String(unscoped.headers["x-subject-token"]);
    (g.clock as ManualClock).advance(60_000);
    const rescoped = await call("POST", "/auth/tokens", undefined, { auth: { identity: { methods: ["token"], token: { id: unscopedToken } }, scope: { project: { id: m.project.id } } } });
    expect(rescoped.statusCode).toBe(201);
    const t = rescoped.json().token;
    expect(t.methods).toEqual(["token", "password"]);
    expect(t.expires_at).toBe(unscoped.json().token.expires_at);
    expect(t.audit_ids[1]).toBe(unscoped.json().token.audit_ids[0]);
    expect(t.roles.map((r: { name: string }) => r.name).sort()).toEqual(["member", "reader"]);
  });

  it("validate (GET/HEAD with X-Subject-Token), revoke (DELETE); a revoked token no longer works", async () => {
    const m = await member();
    const get = await call("GET", "/auth/tokens", admin, undefined, { "x-subject-token": m.token });
    expect(get.statusCode).toBe(200);
    expect(get.headers["x-subject-token"]).toBe(m.token);
    expect(get.json().token.user.name).toBe("bob");
    expect((await call("HEAD", "/auth/tokens", m.token, undefined, { "x-subject-token": m.token })).statusCode).toBe(200);
    // bob may not inspect admin's token.
    expect((await call("GET", "/auth/tokens", m.token, undefined, { "x-subject-token": admin })).statusCode).toBe(403);
    expect((await call("DELETE", "/auth/tokens", m.token, undefined, { "x-subject-token": m.token })).statusCode).toBe(204);
    expect(g.store.list("token_revocation")).toHaveLength(1);
    expect((await call("GET", "/auth/tokens", admin, undefined, { "x-subject-token": m.token })).statusCode).toBe(404);
    expect((await call("GET", "/auth/projects", m.token)).statusCode).toBe(401);
  });

  it("tokens stop working when the clock passes expiry, the user is disabled, or the role is removed", async () => {
    const m = await member();
    expect((await call("GET", "/auth/projects", m.token)).json().projects.map((p: { name: string }) => p.name)).toEqual(["demo"]);
    const roles = (await call("GET", "/roles?name=member", admin)).json().roles;
    expect((await call("DELETE", `/projects/${m.project.id}/users/${m.user.id}/roles/${roles[0].id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", "/auth/projects", m.token)).statusCode).toBe(401);

    const other = await member("carol", "carol-pw", "demo2");
    expect((await call("PATCH", `/users/${other.user.id}`, admin, { user: { enabled: false } })).json().user.enabled).toBe(false);
    expect((await call("GET", "/auth/projects", other.token)).statusCode).toBe(401);

    (g.clock as ManualClock).advance(3_600_000);
    const expired = await call("GET", "/auth/catalog", admin);
    expect(expired.statusCode).toBe(401);
    expect(expired.headers["www-authenticate"]).toBe('Keystone uri="http://10.1.2.3:8774/identity"');
  });

  it("projects, users and roles: create, conflict, list with filters, show, update, delete; non-admins get 403", async () => {
    const m = await member();
    const dup = await call("POST", "/projects", admin, { project: { name: "demo", domain_id: "default" } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toMatchObject({ code: 409, title: "Conflict" });
    expect((await call("GET", "/projects?name=demo", admin)).json().projects).toHaveLength(1);
    expect((await call("GET", "/projects?name=zzz", admin)).json().projects).toHaveLength(0);
    expect((await call("GET", "/projects/nope", admin)).json()).toEqual({ error: { code: 404, title: "Not Found", message: "Could not find project: nope." } });
    expect((await call("PATCH", `/projects/${m.project.id}`, admin, { project: { description: "changed" } })).json().project.description).toBe("changed");
    expect((await call("GET", `/projects/${m.project.id}`, m.token)).statusCode).toBe(200);
    expect((await call("GET", `/projects/${g.boot.adminProjectId}`, m.token)).statusCode).toBe(403);
    expect((await call("GET", "/projects", m.token)).statusCode).toBe(403);
    const forbidden = await call("POST", "/users", m.token, { user: { name: "eve" } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.message).toBe("Policy doesn't allow identity:create_user to be performed.");
    expect((await call("GET", `/users/${m.user.id}`, m.token)).json().user).not.toHaveProperty("password_hash");
    expect((await call("GET", "/users?name=bob", admin)).json().users.map((u: { id: string }) => u.id)).toEqual([m.user.id]);
    expect((await call("GET", `/users/${m.user.id}/projects`, m.token)).json().projects.map((p: { id: string }) => p.id)).toEqual([m.project.id]);

    const role = await call("POST", "/roles", admin, { role: { name: "observer" } });
    expect(role.statusCode).toBe(201);
    expect((await call("POST", "/roles", admin, { role: { name: "observer" } })).statusCode).toBe(409);
    expect((await call("DELETE", `/roles/${role.json().role.id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/roles/${role.json().role.id}`, admin)).statusCode).toBe(404);

    expect((await call("DELETE", `/users/${m.user.id}`, admin)).statusCode).toBe(204);
    expect(g.store.list("role_assignment", (a) => a.user === m.user.id)).toHaveLength(0);
    expect((await call("DELETE", `/projects/${m.project.id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/projects/${m.project.id}`, admin)).statusCode).toBe(404);
  });

  it("grants and role_assignments with the filters the CLI sends, including names and effective (implied) roles", async () => {
    const m = await member();
    const roles = Object.fromEntries((await call("GET", "/roles", admin)).json().roles.map((r: { name: string; id: string }) => [r.name, r.id]));
    expect((await call("HEAD", `/projects/${m.project.id}/users/${m.user.id}/roles/${roles.member}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/projects/${m.project.id}/users/${m.user.id}/roles/${roles.admin}`, admin)).statusCode).toBe(404);
    expect((await call("PUT", `/projects/${m.project.id}/users/${m.user.id}/roles/nope`, admin)).statusCode).toBe(404);
    const direct = (await call("GET", `/role_assignments?user.id=${m.user.id}&scope.project.id=${m.project.id}&include_names=True`, admin)).json().role_assignments;
    expect(direct).toEqual([
      {
        role: { id: roles.member, name: "member" },
        user: { id: m.user.id, name: "bob", domain: { id: "default", name: "Default" } },
        scope: { project: { id: m.project.id, name: "demo", domain: { id: "default", name: "Default" } } },
        links: { assignment: `http://10.1.2.3:8774/identity/v3/projects/${m.project.id}/users/${m.user.id}/roles/${roles.member}` },
      },
    ]);
    const effective = (await call("GET", `/role_assignments?user.id=${m.user.id}&effective`, admin)).json().role_assignments;
    expect(effective.map((a: { role: { id: string } }) => a.role.id).sort()).toEqual([roles.member, roles.reader].sort());
    expect((await call("GET", `/role_assignments?role.id=${roles.admin}`, admin)).json().role_assignments).toHaveLength(1);
    expect((await call("GET", "/role_assignments", m.token)).statusCode).toBe(403);
    expect((await call("GET", `/role_assignments?user.id=${m.user.id}`, m.token)).statusCode).toBe(200);
    expect((await call("GET", `/projects/${m.project.id}/users/${m.user.id}/roles`, admin)).json().roles.map((r: { name: string }) => r.name)).toEqual(["member"]);
  });

  it("groups: CRUD, membership, project grants to a group give its members the roles (tokens, scoping, effective assignments)", async () => {
    const p = (await call("POST", "/projects", admin, { project: { name: "ops", domain_id: "default" } })).json().project;
    const u = (await call("POST", "/users", admin, { user: { name: "carol", password: "carol-pw", domain_id: "default" } })).json().user;
    const memberRole = (await call("GET", "/roles?name=member", admin)).json().roles[0];
    const created = await call("POST", "/groups", admin, { group: { name: "operators", description: "on call" } });
    expect(created.statusCode).toBe(201);
    const grp = created.json().group;
    expect(grp).toMatchObject({ name: "operators", domain_id: "default", description: "on call" });
    expect((await call("POST", "/groups", admin, { group: { name: "operators" } })).statusCode).toBe(409);
    // Without the group's grant carol cannot scope to ops.
    await expect(g.token("carol", "carol-pw", "ops")).rejects.toThrow();
    expect((await call("PUT", `/groups/${grp.id}/users/${u.id}`, admin)).statusCode).toBe(204);
    expect((await call("HEAD", `/groups/${grp.id}/users/${u.id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/groups/${grp.id}/users`, admin)).json().users.map((x: { name: string }) => x.name)).toEqual(["carol"]);
    expect((await call("PUT", `/projects/${p.id}/groups/${grp.id}/roles/${memberRole.id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/projects/${p.id}/groups/${grp.id}/roles`, admin)).json().roles.map((r: { name: string }) => r.name)).toEqual(["member"]);
    const token = await g.token("carol", "carol-pw", "ops");
    const t = (await call("GET", "/auth/tokens", admin, undefined, { "x-subject-token": token })).json().token;
    expect(t.roles.map((r: { name: string }) => r.name).sort()).toEqual(["member", "reader"]);
    expect((await call("GET", `/users/${u.id}/groups`, token)).json().groups.map((x: { name: string }) => x.name)).toEqual(["operators"]);
    expect((await call("GET", `/users/${u.id}/projects`, token)).json().projects.map((x: { name: string }) => x.name)).toEqual(["ops"]);
    const direct = (await call("GET", `/role_assignments?group.id=${grp.id}&include_names=1`, admin)).json().role_assignments;
    expect(direct).toEqual([expect.objectContaining({ group: { id: grp.id, name: "operators", domain: { id: "default", name: "Default" } }, role: { id: memberRole.id, name: "member" } })]);
    const eff = (await call("GET", `/role_assignments?user.id=${u.id}&effective=1`, token)).json().role_assignments;
    expect(eff.map((x: { user: { id: string } }) => x.user.id)).toEqual([u.id, u.id]); // member and the reader it implies
    expect((await call("GET", "/groups", token)).statusCode).toBe(403);
    // Out of the group: the roles go with it.
    expect((await call("DELETE", `/groups/${grp.id}/users/${u.id}`, admin)).statusCode).toBe(204);
    await expect(g.token("carol", "carol-pw", "ops")).rejects.toThrow();
    expect((await call("PATCH", `/groups/${grp.id}`, admin, { group: { name: "sre" } })).json().group.name).toBe("sre");
    expect((await call("DELETE", `/groups/${grp.id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/groups/${grp.id}`, admin)).statusCode).toBe(404);
    expect(g.store.list("role_assignment", (r) => r.group === grp.id)).toEqual([]);
  });

  it("application credentials: made with a scoped token, shown once, authenticate to their project with their roles; deleted, expired or out-roled they stop", async () => {
    const { project, user, token } = await member("erin", "erin-pw", "lab");
    const made = await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "ci", description: "pipelines" } });
    expect(made.statusCode).toBe(201);
    const cred = made.json().application_credential;
    expect(cred).toMatchObject({ name: "ci", project_id: project.id, user_id: user.id, unrestricted: false, expires_at: null });
    expect(cred.roles.map((r: { name: string }) => r.name).sort()).toEqual(["member", "reader"]);
    expect(typeof cred.secret).toBe("string");
    expect((await call("GET", `/users/${user.id}/application_credentials`, token)).json().application_credentials[0].secret).toBeUndefined();
    expect((await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "ci" } })).statusCode).toBe(409);
    expect((await call("POST", `/users/${user.id}/application_credentials`, admin, { application_credential: { name: "x" } })).statusCode).toBe(403); // only for oneself

    const viaCred = (c: Record<string, unknown>) => call("POST", "/auth/tokens", undefined, { auth: { identity: { methods: ["application_credential"], application_credential: c } } });
    const issued = await viaCred({ id: cred.id, secret: cred.secret });
    expect(issued.statusCode).toBe(201);
    const t = issued.json().token;
    expect(t).toMatchObject({ methods: ["application_credential"], project: { id: project.id }, application_credential: { id: cred.id, name: "ci", restricted: true } });
    expect(t.roles.map((r: { name: string }) => r.name).sort()).toEqual(["member", "reader"]);
    const credToken = String(issued.headers["x-subject-token"]);
    expect((await viaCred({ name: "ci", user: { name: "erin", domain: { id: "default" } }, secret: cred.secret })).statusCode).toBe(201);
    expect((await viaCred({ id: cred.id, secret: "wrong" })).statusCode).toBe(401);
    // A restricted credential's token makes no more credentials, and is not re-scoped.
    expect((await call("POST", `/users/${user.id}/application_credentials`, credToken, { application_credential: { name: "more" } })).statusCode).toBe(403);
    const rescope = await call("POST", "/auth/tokens", undefined, { auth: { identity: { methods: ["token"], token: { id: credToken } }, scope: { project: { id: project.id } } } });
    expect(rescope.statusCode).toBe(400);

    // A reader-only credential: its tokens carry reader alone.
    const readerOnly = (await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "ro", roles: [{ name: "reader" }] } })).json().application_credential;
    expect((await viaCred({ id: readerOnly.id, secret: readerOnly.secret })).json().token.roles.map((r: { name: string }) => r.name)).toEqual(["reader"]);
    const adminRole = (await call("GET", "/roles?name=admin", admin)).json().roles[0];
    expect((await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "up", roles: [{ id: adminRole.id }] } })).statusCode).toBe(400);

    // Deleted: its tokens stop at once.
    expect((await call("GET", `/users/${user.id}/application_credentials/${cred.id}`, credToken)).statusCode).toBe(200);
    expect((await call("DELETE", `/users/${user.id}/application_credentials/${cred.id}`, token)).statusCode).toBe(204);
    expect((await call("GET", `/users/${user.id}/application_credentials`, credToken)).statusCode).toBe(401);
    expect((await viaCred({ id: cred.id, secret: cred.secret })).statusCode).toBe(401);

    // Its user loses the role on the project: the credential's tokens lose it too.
    const roTok = String((await viaCred({ id: readerOnly.id, secret: readerOnly.secret })).headers["x-subject-token"]);
    const memberRole = (await call("GET", "/roles?name=member", admin)).json().roles[0];
    expect((await call("DELETE", `/projects/${project.id}/users/${user.id}/roles/${memberRole.id}`, admin)).statusCode).toBe(204);
    expect((await call("GET", `/users/${user.id}/application_credentials`, roTok)).statusCode).toBe(401);
    expect((await viaCred({ id: readerOnly.id, secret: readerOnly.secret })).statusCode).toBe(401);
    expect((await call("PUT", `/projects/${project.id}/users/${user.id}/roles/${memberRole.id}`, admin)).statusCode).toBe(204);

    // Expiring: refused in the past, works until then, then neither new nor old tokens.
    expect((await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "old", expires_at: "2025-01-01T00:00:00" } })).statusCode).toBe(400);
    const soon = (await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "soon", expires_at: "2026-01-01T00:30:00" } })).json().application_credential;
    expect(soon.expires_at).toBe("2026-01-01T00:30:00"); // as sent, naive UTC (Keystone; Tempest compares the text)
    const micro = (await call("POST", `/users/${user.id}/application_credentials`, token, { application_credential: { name: "micro", expires_at: "2026-01-01T00:40:00.961500" } })).json().application_credential;
    expect(micro.expires_at).toBe("2026-01-01T00:40:00.961500");
    const soonToken = await viaCred({ id: soon.id, secret: soon.secret });
    expect(soonToken.json().token.expires_at).toBe("2026-01-01T00:30:00.000000Z"); // no later than the credential
    (g.clock as ManualClock).advance(31 * 60_000);
    expect((await viaCred({ id: soon.id, secret: soon.secret })).statusCode).toBe(401);
  });

  it("a user changes their own password with the original one; nobody else can", async () => {
    const m = await member();
    const url = `/users/${m.user.id}/password`;
    expect((await call("POST", url, m.token, { user: { original_password: "wrong", password: "new-pw" } })).statusCode).toBe(401);
    expect((await call("POST", url, admin, { user: { original_password: "bob-pw", password: "new-pw" } })).statusCode).toBe(403);
    expect((await call("POST", url, m.token, { user: { original_password: "bob-pw", password: "new-pw" } })).statusCode).toBe(204);
    expect((await call("POST", "/auth/tokens", undefined, passwordAuth("bob", "bob-pw", "demo"))).statusCode).toBe(401);
    expect((await call("POST", "/auth/tokens", undefined, passwordAuth("bob", "new-pw", "demo"))).statusCode).toBe(201);
  });

  it("services, endpoints and regions: read-only views of this node's catalog", async () => {
    const services = (await call("GET", "/services?type=compute", admin)).json().services;
    expect(services).toHaveLength(1);
    const endpoints = (await call("GET", `/endpoints?service_id=${services[0].id}&interface=public`, admin)).json().endpoints;
    expect(endpoints).toEqual([expect.objectContaining({ url: "http://10.1.2.3:8774/compute/v2.1", region_id: "RegionOne", service_id: services[0].id })]);
    expect((await call("GET", `/endpoints/${endpoints[0].id}`, admin)).json().endpoint.id).toBe(endpoints[0].id);
    expect((await call("GET", "/regions", admin)).json().regions.map((r: { id: string }) => r.id)).toEqual(["RegionOne"]);
    expect((await call("GET", "/services/nope", admin)).statusCode).toBe(404);
    expect((await call("GET", "/services?name=nova", admin)).json().services.map((x: { type: string }) => x.type)).toEqual(["compute"]);
    expect((await call("GET", "/services?name=compute", admin)).json().services).toEqual([]); // a type, not a name
  });

  it("domains: only Default, found by id or name", async () => {
    expect((await call("GET", "/domains/default", admin)).json().domain).toMatchObject({ id: "default", name: "Default", enabled: true });
    expect((await call("GET", "/domains?name=Default", admin)).json().domains).toHaveLength(1);
    expect((await call("GET", "/domains?name=Other", admin)).json().domains).toHaveLength(0);
    expect((await call("GET", "/domains/other", admin)).statusCode).toBe(404);
  });

  it("bootstrap is idempotent and keeps the first admin password (and the admin's tokens)", async () => {
    const { bootstrapIdentity } = await import("./bootstrap.ts");
    const before = g.store.get("user", g.boot.adminUserId);
    const again = await bootstrapIdentity(g.store, { adminPassword: "another" }, { clock: g.clock, random: g.random });
    expect(again.created).toBe(false);
    expect(again.adminUserId).toBe(g.boot.adminUserId);
    expect((await call("POST", "/auth/tokens", undefined, passwordAuth("admin", ADMIN_PASSWORD, "admin"))).statusCode).toBe(201);
    expect(g.store.list("user")).toHaveLength(1);
    // Every agent start on a cluster's first node runs it: it must not rewrite the admin user.
    expect(g.store.get("user", g.boot.adminUserId)).toEqual(before);
    expect((await call("GET", "/users", admin)).statusCode).toBe(200);
  });
});
