// Issue #13 item 1: the public API port serves the OpenStack API and /healthz only. A raw record write
// (e.g. a role_assignment making a member admin), a dump of every password hash, removing a node,
// the metrics and the gossip debug publisher all answer 404 there and change nothing; they work on
// the operator socket, which is the agent user's alone (0600 in a 0700 data dir).
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "../helpers/mesh-process.ts";

describe("native routes are not on the public port", () => {
  let mesh: Mesh;
  const saved = process.env.PEERSTACK_RECONCILER;
  beforeAll(async () => {
    process.env.PEERSTACK_RECONCILER = "off";
    mesh = await startMesh(1, { prefix: "psnative-", spec: () => ({ args: ["--metrics", "127.0.0.1:0"] }) });
  }, 60_000);
  afterAll(async () => {
    await mesh?.destroy();
    if (saved === undefined) delete process.env.PEERSTACK_RECONCILER;
    else process.env.PEERSTACK_RECONCILER = saved;
  });

  const attacks: Array<[string, string, unknown?]> = [
    ["POST", "/mesh/records", { writes: [{ kind: "role_assignment", id: "planted", fields: { role_id: "admin", user_id: "attacker", project_id: "admin" } }], acks: 0 }],
    ["GET", "/mesh/records/user"],
    ["GET", "/mesh/records/user/any"],
    ["GET", "/mesh"],
    ["DELETE", "/mesh/nodes/x"],
    ["GET", "/metrics"],
    ["POST", "/mesh/debug/publish", { topic: "peerstack/catalog/1", type: "catalog.deltas", body: { deltas: [] } }],
    ["POST", "/mesh/debug/deny", { peers: [] }],
    ["GET", "/peerstack/ledger"],
    ["POST", "/peerstack/debug/place", { n: 1, prefix: "x" }],
  ];

  it("every native route answers 404 in the API's error body on the public port and writes nothing", async () => {
    const node = mesh.nodes[0];
    const before = (await node.status()).catalog.seq;
    for (const [method, path, body] of attacks) {
      const res = await fetch(`${node.httpUrl}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
      // Keystone's error body, as every other unknown path of the API answers.
      expect(await res.json(), `${method} ${path}`).toMatchObject({ error: { code: 404 } });
    }
    expect(await node.record("role_assignment", "planted")).toBeUndefined();
    expect((await node.status()).catalog.seq).toBe(before);
    expect(await (await fetch(`${node.httpUrl}/healthz`)).json()).toMatchObject({ ok: true, node: node.id });
  });

  it("the operator socket serves them, and only the agent's user can open it", async () => {
    const node = mesh.nodes[0];
    expect(node.operator).toBe(`unix:${join(node.spec.dataDir, "operator.sock")}`);
    expect(statSync(join(node.spec.dataDir, "operator.sock")).mode & 0o777).toBe(0o600);
    expect((await node.status()).node).toBe(node.id);
    await node.put([{ kind: "labnote", id: "op1", fields: { v: 1 } }]);
    expect(await node.record("labnote", "op1")).toMatchObject({ v: 1 });
    expect(await node.opJson<string>("/metrics")).toContain("# TYPE");
    expect((await node.op("/mesh/nodes/x", { method: "DELETE" })).status).toBe(404); // unknown member, in the operator's body
  });

  it("--metrics serves /metrics alone on its own address", async () => {
    const line = mesh.nodes[0].logs.find((l) => l.includes('"msg":"listening"'))!;
    const url = (JSON.parse(line) as { metrics: string }).metrics;
    expect(await (await fetch(`${url}/metrics`)).text()).toContain("# TYPE");
    expect((await fetch(`${url}/mesh/records/user`)).status).toBe(404);
  });
});
