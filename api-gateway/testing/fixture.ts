// A gateway over a real CRDT store (MemoryKv or LevelDB) for route tests and CLI tests.
import { generateKeyPair, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import type { FastifyInstance } from "fastify";
import type { Clock } from "../../protocol/clock.ts";
import { setFields } from "../../protocol/crdt/lww-map.ts";
import { SeededRandom, type Random } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { openCrdtStore, type CrdtStore } from "../../node/store/crdt-store.ts";
import type { KvStore } from "../../node/store/kv.ts";
import { MemoryKv } from "../../node/store/memory-kv.ts";
import { buildApp, type BuildOptions } from "../app.ts";
import type { NodeKey } from "../auth/tokens.ts";
import { bootstrapIdentity, type BootstrapResult } from "../identity/bootstrap.ts";

export const TEST_PASSWORD_COST = { N: 1024, r: 8, p: 1 };
export const ADMIN_PASSWORD = "s3cret-admin";

export interface TestGateway {
  app: FastifyInstance;
  store: CrdtStore;
  clock: Clock;
  random: Random;
  nodeKey: NodeKey;
  boot: BootstrapResult;
  /** POSTs password auth and returns the X-Subject-Token. */
  token(user?: string, password?: string, project?: string): Promise<string>;
  close(): Promise<void>;
}

export async function newNodeKey(): Promise<NodeKey> {
  const privateKey = await generateKeyPair("Ed25519");
  const { peerIdFromPrivateKey } = await import("@libp2p/peer-id");
  return { id: peerIdFromPrivateKey(privateKey).toString(), privateKey };
}

/** The "node" record a mesh member publishes (public key as base64 libp2p protobuf), stamped by that node as membership does. */
export async function putNodeRecord(store: CrdtStore, key: NodeKey, az = "nova"): Promise<void> {
  const fields = { name: `host-${key.id.slice(-6)}`, az, publicKey: Buffer.from(publicKeyToProtobuf(key.privateKey.publicKey)).toString("base64"), addresses: [] };
  if (key.id === store.hlc.node) {
    await store.put("node", key.id, fields);
    return;
  }
  await store.applyRemote([setFields(undefined, "node", key.id, fields, { ...store.hlc.now(), node: key.id }).delta]);
}

export async function testGateway(o: { clock?: Clock; kv?: KvStore; nodeKey?: NodeKey; publicUrl?: string; seed?: number; extra?: Partial<BuildOptions> } = {}): Promise<TestGateway> {
  const clock = o.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  const random = new SeededRandom(o.seed ?? 7);
  const nodeKey = o.nodeKey ?? (await newNodeKey());
  const kv = o.kv ?? new MemoryKv();
  const store = await openCrdtStore({ node: nodeKey.id }, { clock, kv });
  await putNodeRecord(store, nodeKey);
  const boot = await bootstrapIdentity(store, { adminPassword: ADMIN_PASSWORD, passwordCost: TEST_PASSWORD_COST }, { clock, random });
  const app = await buildApp({ store, nodeKey, nodeInfo: { id: nodeKey.id, name: "node-a", az: "nova", publicUrl: o.publicUrl }, clock, random, passwordCost: TEST_PASSWORD_COST, ...o.extra });
  const token = async (user = "admin", password = ADMIN_PASSWORD, project = "admin") => {
    const res = await app.inject({ method: "POST", url: "/identity/v3/auth/tokens", payload: passwordAuth(user, password, project) });
    if (res.statusCode !== 201) throw new Error(`auth as ${user} failed: ${res.statusCode} ${res.body}`);
    return String(res.headers["x-subject-token"]);
  };
  return {
    app,
    store,
    clock,
    random,
    nodeKey,
    boot,
    token,
    async close() {
      await app.close();
      await store.stop();
      await kv.close();
    },
  };
}

export function passwordAuth(user: string, password: string, project?: string): Record<string, unknown> {
  const auth: Record<string, unknown> = {
    identity: { methods: ["password"], password: { user: { name: user, domain: { name: "Default" }, password } } },
  };
  if (project) auth.scope = { project: { name: project, domain: { id: "default" } } };
  return { auth };
}
