// Issue 13 item 2 against real agents: a `node` record planted through the native write route cannot
// make a forged admin token valid (neither under the attacker's own id nor under a real node's id), a
// genuine token still works, and a removed node's tokens stop working on the others.
import { generateKeyPair, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitConnected, waitFor, type Mesh, type MeshProcess } from "../helpers/mesh-process.ts";

const PASSWORD = "forgery-test-secret";

// Every call of a native (operator) route goes through here, so it can be re-pointed in one place.
function native<T>(p: MeshProcess, method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return p
    .op(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    })
    .then(async (res) => ({ status: res.status, body: (res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text()) as T }));
}

async function api(p: MeshProcess, path: string, token: string): Promise<number> {
  const res = await fetch(`${p.httpUrl}${path}`, { headers: { "x-auth-token": token }, signal: AbortSignal.timeout(20_000) });
  await res.arrayBuffer();
  return res.status;
}

async function passwordToken(p: MeshProcess): Promise<string> {
  const res = await fetch(`${p.httpUrl}/identity/v3/auth/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: PASSWORD } } }, scope: { project: { name: "admin", domain: { id: "default" } } } } }),
    signal: AbortSignal.timeout(20_000),
  });
  if (res.status !== 201) throw new Error(`auth on ${p.spec.name}: ${res.status} ${await res.text()}`);
  return res.headers.get("x-subject-token")!;
}

/** A token with the genuine token's claims (admin user, admin project), signed by `key` as issuer `kid`. */
function forge(genuine: string, kid: string, key: PrivateKey): Promise<string> {
  const claims = JSON.parse(Buffer.from(genuine.split(".")[1], "base64url").toString()) as Record<string, unknown>;
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  return crypto.subtle
    .importKey("jwk", { kty: "OKP", crv: "Ed25519", d: b64(key.raw.subarray(0, 32)), x: b64(key.publicKey.raw) }, "Ed25519", false, ["sign"])
    .then((signing) => new SignJWT({ ...claims, jti: `forged-${kid.slice(-6)}` }).setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" }).setIssuer(kid).sign(signing));
}

describe("forged Keystone tokens on real agents", () => {
  let mesh: Mesh;
  const n = (i: number) => mesh.nodes[i - 1];
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    process.env.PEERSTACK_RECONCILER = "off";
    mesh = await startMesh(3, { prefix: "psforge-" });
    await waitConnected(mesh.nodes, 2);
  }, 90_000);
  afterAll(async () => {
    await mesh?.destroy();
    for (const [k, v] of [["PEERSTACK_ADMIN_PASSWORD", saved.pw], ["PEERSTACK_RECONCILER", saved.rc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("a planted node record does not make a forged admin token valid; a genuine token still works", async () => {
    const genuine = await passwordToken(n(1));
    expect(await api(n(2), "/identity/v3/users", genuine)).toBe(200);
    const attacker = await generateKeyPair("Ed25519");
    const attackerId = peerIdFromPrivateKey(attacker).toString();
    const publicKey = Buffer.from(publicKeyToProtobuf(attacker.publicKey)).toString("base64");
    // The attack of the review: a node record with the attacker's key under its own id, and one
    // replacing a real node's key.
    const planted = await native(n(1), "POST", "/mesh/records", {
      writes: [
        { kind: "node", id: attackerId, fields: { name: "evil", az: "nova", publicKey, addresses: [] } },
        { kind: "node", id: n(3).id, fields: { publicKey } },
      ],
      acks: 2,
    });
    expect(planted.status).toBe(200);
    await waitFor("planted record on node 2", async () => (await native<{ name?: string }>(n(2), "GET", `/mesh/records/node/${attackerId}`)).body?.name === "evil", 10_000);
    const asAttacker = await forge(genuine, attackerId, attacker);
    const asNode3 = await forge(genuine, n(3).id, attacker);
    for (const p of mesh.nodes) {
      expect(await api(p, "/identity/v3/users", asAttacker)).toBe(401);
      expect(await api(p, "/compute/v2.1/os-hypervisors", asAttacker)).toBe(401);
      expect(await api(p, "/identity/v3/users", asNode3)).toBe(401);
      expect(await api(p, "/identity/v3/users", genuine)).toBe(200);
    }
    // Node 3's own tokens are unaffected by the record that names another key for it.
    expect(await api(n(1), "/identity/v3/users", await passwordToken(n(3)))).toBe(200);
  });

  it("a removed node's tokens stop working on the other nodes", async () => {
    const fromNode3 = await passwordToken(n(3));
    expect(await api(n(1), "/identity/v3/users", fromNode3)).toBe(200);
    await n(3).kill9();
    await waitFor("node 3 dead on node 1", async () => {
      const status = await native<{ peers: Array<{ id: string; state: string }> }>(n(1), "GET", "/mesh");
      return status.body.peers.find((m) => m.id === n(3).id)?.state === "dead";
    }, 30_000, 200);
    expect(await api(n(1), "/identity/v3/users", fromNode3)).toBe(200); // dead is not removed
    const removed = await native(n(1), "DELETE", `/mesh/nodes/${n(3).id}`);
    expect(removed.status).toBe(200);
    expect(await api(n(1), "/identity/v3/users", fromNode3)).toBe(401);
    await waitFor("removal reached node 2", async () => (await api(n(2), "/identity/v3/users", fromNode3)) === 401, 10_000);
  }, 60_000);
});
