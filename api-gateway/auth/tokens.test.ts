import { publicKeyToProtobuf } from "@libp2p/crypto/keys";
import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { openCrdtStore, type CrdtStore } from "../../node/store/crdt-store.ts";
import { MemoryKv } from "../../node/store/memory-kv.ts";
import { newNodeKey, putNodeRecord } from "../testing/fixture.ts";
import { NODE_KIND, TokenService, type NodeKey } from "./tokens.ts";

describe("TokenService", () => {
  const stores: CrdtStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.stop();
  });

  async function node(clock: ManualClock, key?: NodeKey) {
    const k = key ?? (await newNodeKey());
    const store = await openCrdtStore({ node: k.id }, { clock, kv: new MemoryKv() });
    stores.push(store);
    return { key: k, store, tokens: new TokenService({ node: k, ttlSec: 600 }, { store, clock, random: new SeededRandom(1) }) };
  }

  it("signs EdDSA JWTs with kid = node id and verifies them", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const { token, claims } = await a.tokens.issue({ userId: "u1", projectId: "p1", methods: ["password"] });
    const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
    expect(header).toMatchObject({ alg: "EdDSA", kid: a.key.id });
    expect(claims.expiresAtMs - claims.issuedAtMs).toBe(600_000);
    expect(await a.tokens.verify(token)).toEqual(claims);
  });

  it("another node verifies offline from the issuer's node record, and refuses an unknown issuer", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const b = await node(clock);
    const { token } = await a.tokens.issue({ userId: "u1", methods: ["password"] });
    await expect(b.tokens.verify(token)).rejects.toMatchObject({ code: "AUTH_REQUIRED", message: expect.stringContaining("unknown issuer") });
    await putNodeRecord(b.store, a.key);
    expect((await b.tokens.verify(token)).userId).toBe("u1");
  });

  it("refuses a token whose payload was changed, and one signed by a different key under the same kid", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const { token } = await a.tokens.issue({ userId: "u1", methods: ["password"] });
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    payload.sub = "admin";
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    await expect(a.tokens.verify(forged)).rejects.toMatchObject({ code: "AUTH_REQUIRED" });
    // An impostor with its own key claims to be node a.
    const impostorKey = await newNodeKey();
    const impostor = await node(clock, { id: a.key.id, privateKey: impostorKey.privateKey });
    const { token: fake } = await impostor.tokens.issue({ userId: "u1", methods: ["password"] });
    await expect(a.tokens.verify(fake)).rejects.toMatchObject({ code: "AUTH_REQUIRED" });
    await expect(a.tokens.verify("not-a-jwt")).rejects.toMatchObject({ code: "AUTH_REQUIRED" });
  });

  it("a node record planted by another writer makes no issuer: the key comes from the issuer's id, the issuer must have published itself", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const attacker = await newNodeKey();
    // Planted on a by a's own API (stamped by a), carrying the attacker's key under its own id and under a third node's.
    const real = await newNodeKey();
    const publicKey = Buffer.from(publicKeyToProtobuf(attacker.privateKey.publicKey)).toString("base64");
    await a.store.put(NODE_KIND, attacker.id, { name: "evil", publicKey, addresses: [] });
    await putNodeRecord(a.store, real);
    await a.store.put(NODE_KIND, real.id, { publicKey });
    const forger = await node(clock, attacker);
    const { token: ownId } = await forger.tokens.issue({ userId: "admin", methods: ["password"] });
    await expect(a.tokens.verify(ownId)).rejects.toMatchObject({ code: "AUTH_REQUIRED", message: expect.stringContaining("unknown issuer") });
    const asReal = await node(clock, { id: real.id, privateKey: attacker.privateKey });
    const { token: realId } = await asReal.tokens.issue({ userId: "admin", methods: ["password"] });
    await expect(a.tokens.verify(realId)).rejects.toMatchObject({ code: "AUTH_REQUIRED", message: expect.stringContaining("signature verification failed") });
    // The genuine node still issues tokens a accepts.
    const genuine = await node(clock, real);
    expect((await a.tokens.verify((await genuine.tokens.issue({ userId: "u1", methods: ["password"] })).token)).userId).toBe("u1");
  });

  it("refuses a kid that is not an Ed25519 peer id, and a removed issuer's tokens even when cached", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const b = await node(clock);
    await putNodeRecord(a.store, b.key);
    const { token } = await b.tokens.issue({ userId: "u1", methods: ["password"] });
    await a.tokens.verify(token);
    await a.store.remove(NODE_KIND, b.key.id);
    await expect(a.tokens.verify(token)).rejects.toMatchObject({ code: "AUTH_REQUIRED", message: expect.stringContaining("unknown issuer") });
    const [, p, sig] = token.split(".");
    const header = Buffer.from(JSON.stringify({ alg: "EdDSA", kid: "not-a-peer-id", typ: "JWT" })).toString("base64url");
    await a.store.put(NODE_KIND, "not-a-peer-id", { name: "x" });
    await expect(a.tokens.verify(`${header}.${p}.${sig}`)).rejects.toMatchObject({ code: "AUTH_REQUIRED" });
  });

  it("expires tokens by the injected clock, also when cached", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const { token } = await a.tokens.issue({ userId: "u1", methods: ["password"] });
    await a.tokens.verify(token);
    clock.advance(599_000);
    await a.tokens.verify(token);
    expect(a.tokens.hits).toBe(1);
    clock.advance(1_000);
    await expect(a.tokens.verify(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("revocation is a replicated record: a revoked token fails on a node that receives the delta, and so do tokens re-scoped from it", async () => {
    const clock = new ManualClock();
    const a = await node(clock);
    const b = await node(clock);
    await putNodeRecord(b.store, a.key);
    const { token, claims } = await a.tokens.issue({ userId: "u1", methods: ["password"] });
    const { token: child } = await b.tokens.issue({ userId: "u1", projectId: "p", methods: ["token"], parentAuditId: claims.auditIds[0] });
    await b.tokens.verify(token);
    await b.tokens.verify(child);
    const deltas: Parameters<CrdtStore["applyRemote"]>[0][number][] = [];
    a.store.onChange((c) => deltas.push(c.delta));
    await a.tokens.revoke(claims);
    await expect(a.tokens.verify(token)).rejects.toMatchObject({ code: "TOKEN_REVOKED" });
    await b.tokens.verify(token); // not yet replicated
    expect(await b.store.applyRemote(deltas)).toBe(1);
    await expect(b.tokens.verify(token)).rejects.toMatchObject({ code: "TOKEN_REVOKED" });
    await expect(b.tokens.verify(child)).rejects.toMatchObject({ code: "TOKEN_REVOKED" });
  });
});
