// The real `openstack` CLI (python3-openstackclient) against a real HTTP listener on 127.0.0.1 with
// a real CRDT store on LevelDB: discovery, Keystone auth, identity admin, flavors, keypairs.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LevelKv } from "../node/store/level-kv.ts";
import { systemClock } from "../node/runtime/system.ts";
import { openrcText } from "../api-gateway/identity/bootstrap.ts";
import { ADMIN_PASSWORD, testGateway, type TestGateway } from "../api-gateway/testing/fixture.ts";
import { openstack, type CliResult } from "./helpers/openstack-cli.ts";

const run = promisify(execFile);

// Each CLI call is a Python process start (~1-3 s, far more on a loaded 2-core machine): generous per-test budget.
describe("openstack CLI against peerstack", { timeout: 180_000 }, () => {
  let g: TestGateway;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "psapi-"));
    const kv = await LevelKv.open(join(dir, "catalog"));
    g = await testGateway({ clock: systemClock, kv });
    url = await g.app.listen({ host: "127.0.0.1", port: 0 });
  });

  afterAll(async () => {
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `openstack … -f json` with an explicit OS_* environment (openrc values). */
  /** Runs `openstack … -f json` with an explicit OS_* environment (openrc values). */
  const os = (args: string[], who: { user?: string; password?: string; project?: string } = {}): Promise<CliResult> =>
    openstack({ url, dir, user: who.user, password: who.password ?? ADMIN_PASSWORD, project: who.project }, args);

  it("the openrc bootstrap writes is what the CLI needs", () => {
    const rc = openrcText({ authUrl: `${url}/identity`, user: "admin", password: "p'w", project: "admin", region: "RegionOne" });
    expect(rc).toContain(`export OS_AUTH_URL='${url}/identity'`);
    expect(rc).toContain(`export OS_PASSWORD='p'\\''w'`);
    expect(rc).toContain("export OS_IDENTITY_API_VERSION=3");
  });

  it("token issue and catalog list: a signed token scoped to admin, and this node's endpoints", async () => {
    const token = (await os(["token", "issue", "-f", "json"])).json() as Record<string, string>;
    expect(token.project_id).toBe(g.boot.adminProjectId);
    expect(token.user_id).toBe(g.boot.adminUserId);
    expect(token.id.split(".")).toHaveLength(3);
    expect((await g.app.gateway.tokens.verify(token.id)).issuer).toBe(g.nodeKey.id);
    const catalog = (await os(["catalog", "list", "-f", "json"])).json() as { Name: string; Type: string; Endpoints: { interface: string; url: string; region: string }[] }[];
    const byType = Object.fromEntries(catalog.map((s) => [s.Type, s]));
    expect(Object.keys(byType).sort()).toEqual(["block-storage", "compute", "identity", "image", "network", "volumev3"]);
    expect(byType.compute.Endpoints.map((e) => e.interface).sort()).toEqual(["admin", "internal", "public"]);
    expect(byType.compute.Endpoints[0]).toMatchObject({ url: `${url}/compute/v2.1`, region: "RegionOne" });
  });

  it("project create, user create --password, role add member; the new user gets a token for the project and no admin rights", async () => {
    const project = (await os(["project", "create", "--domain", "default", "--description", "demo project", "demo", "-f", "json"])).json() as Record<string, unknown>;
    expect(project).toMatchObject({ name: "demo", domain_id: "default", description: "demo project", enabled: true });
    const user = (await os(["user", "create", "--domain", "default", "--password", "alice-pw", "--email", "alice@example.org", "alice", "-f", "json"])).json() as Record<string, unknown>;
    expect(user).toMatchObject({ name: "alice", domain_id: "default", enabled: true });
    expect(JSON.stringify(user)).not.toContain("alice-pw");
    const stored = g.store.get("user", String(user.id));
    expect(String(stored?.password_hash)).toMatch(/^scrypt\$/);
    await os(["role", "add", "--user", "alice", "--project", "demo", "member"]);
    const assignments = (await os(["role", "assignment", "list", "--user", "alice", "--project", "demo", "--names", "-f", "json"])).json() as Record<string, string>[];
    expect(assignments).toEqual([expect.objectContaining({ Role: "member", User: "alice@Default", Project: "demo@Default" })]);

    const alice = { user: "alice", password: "alice-pw", project: "demo" };
    const token = (await os(["token", "issue", "-f", "json"], alice)).json() as Record<string, string>;
    expect(token.project_id).toBe(project.id);
    await expect(os(["flavor", "create", "--ram", "64", "--disk", "1", "--vcpus", "1", "alice-flavor"], alice)).rejects.toThrow(/403.*os-flavor-manage:create/s);
    await expect(os(["token", "issue"], { ...alice, password: "wrong" })).rejects.toThrow(/401/);
  });

  it("flavor create and list (admin), with microversion negotiation through the SDK", async () => {
    const flavor = (await os(["flavor", "create", "--ram", "256", "--disk", "2", "--vcpus", "1", "--description", "tiny test", "--property", "hw:cpu_policy=shared", "t1.test", "-f", "json"])).json() as Record<string, unknown>;
    expect(flavor).toMatchObject({ name: "t1.test", ram: 256, disk: 2, vcpus: 1, description: "tiny test", "os-flavor-access:is_public": true });
    expect(g.store.get("flavor", String(flavor.id))?.extra_specs).toEqual({ "hw:cpu_policy": "shared" });
    const list = (await os(["flavor", "list", "-f", "json"])).json() as { Name: string; RAM: number }[];
    expect(list.map((f) => f.Name)).toEqual(expect.arrayContaining(["m1.tiny", "m1.small", "t1.test"]));
    expect(list.find((f) => f.Name === "t1.test")?.RAM).toBe(256);
  });

  it("keypair create: generated (private key returned once, public key stored) and imported (fingerprint = ssh-keygen's MD5)", async () => {
    const out = (await os(["keypair", "create", "gen1"])).stdout;
    expect(out).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+-----END RSA PRIVATE KEY-----\s*$/);
    writeFileSync(join(dir, "gen1.pem"), out, { mode: 0o600 });
    const derived = (await run("ssh-keygen", ["-y", "-f", join(dir, "gen1.pem")])).stdout.trim();
    const stored = g.store.get("keypair", `${g.boot.adminUserId}:gen1`);
    expect(String(stored?.public_key).split(" ").slice(0, 2).join(" ")).toBe(derived);
    expect(JSON.stringify(stored)).not.toContain("PRIVATE KEY");

    await run("ssh-keygen", ["-t", "ed25519", "-N", "", "-q", "-f", join(dir, "imported")]);
    const keyOut = (await os(["keypair", "create", "--public-key", join(dir, "imported.pub"), "imp1", "-f", "json"])).json() as Record<string, string>;
    const md5 = (await run("ssh-keygen", ["-l", "-E", "md5", "-f", join(dir, "imported.pub")])).stdout.split(" ")[1].replace(/^MD5:/, "");
    expect(keyOut).toMatchObject({ name: "imp1", type: "ssh", fingerprint: md5 });
    const blob = readFileSync(join(dir, "imported.pub"), "utf8").split(" ")[1];
    expect(md5).toBe(createHash("md5").update(Buffer.from(blob, "base64")).digest("hex").match(/../g)!.join(":"));
    const list = (await os(["keypair", "list", "-f", "json"])).json() as { Name: string }[];
    expect(list.map((k) => k.Name).sort()).toEqual(["gen1", "imp1"]);
  });
});
