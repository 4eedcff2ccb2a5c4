// Issue #22: a front node killed right after POST /servers answered 202 and kept down. Its server
// record says BUILD/scheduling with a deadline (place_by); once that passed, another live node ends it
// as ERROR "No valid host was found" naming the dead front node, and the project's quota is back.
// On the old code the deadline lived in the dead node's memory: the server stayed BUILD for ever.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitConnected, waitFor, type Mesh } from "./helpers/mesh-process.ts";
import { agentEnv, createServer, FLAVORS, prepareCluster, quotaTotals, withEnv, type Cluster } from "./helpers/placement-cluster.ts";

const N = 3;
const DEADLINE_MS = 10_000;
const HOLDER = 1;
const FRONT = 2;

describe("placement orphaned by a killed front node", () => {
  let mesh: Mesh;
  let c: Cluster;
  let restore = () => {};

  beforeAll(async () => {
    // Only n2 has capacity, and it will be stopped (SIGSTOP) while the front node asks it for a bid:
    // with a long bid timeout the auction is still running when the front node is killed.
    restore = withEnv({ ...agentEnv({ vcpus: 0, ramMb: 0, diskGb: 0 }), PEERSTACK_BID_TIMEOUT_MS: "30000" });
    mesh = await startMesh(N, { prefix: "psplc-orphan-", spec: () => ({ args: ["--place-timeout-ms", String(DEADLINE_MS)] }) });
    await mesh.nodes[HOLDER].stop();
    const back = withEnv(agentEnv());
    await mesh.nodes[HOLDER].start(60_000);
    back();
    await waitConnected(mesh.nodes, N - 1, 30_000);
    c = await prepareCluster(mesh.nodes);
  }, 120_000);
  afterAll(async () => {
    await mesh?.destroy();
    restore();
  });

  it("kill -9 after the 202, kept down: another node ends the server as ERROR within deadline + 10 s, quota back", async () => {
    const before = await quotaTotals(c.nodes, c.project);
    const holder = c.nodes[HOLDER];
    holder.proc.kill("SIGSTOP");
    let r;
    try {
      r = await createServer(c, FRONT, "orphan-1", FLAVORS[0].id);
    } finally {
      if (r?.status === 202) await c.nodes[FRONT].kill9();
      holder.proc.kill("SIGCONT");
    }
    expect(r.status).toBe(202);
    const accepted = Date.now();
    const frontId = c.nodes[FRONT].id;
    const survivors = c.nodes.filter((_, i) => i !== FRONT);
    const id = String(r.body.server.id);
    const scheduling = await survivors[0].record("server", id, 10_000);
    // The 202 came after the record was pushed to a peer: had it stayed on the killed node alone (as under
    // load before), no survivor could ever end it. It carries its deadline and attempt.
    expect(scheduling).toMatchObject({ status: "BUILD", task_state: "scheduling", place_attempt: 1, scheduled_by: frontId });
    const ended = await waitFor("the orphaned server ended as ERROR on every survivor", async () => {
      const rs = await Promise.all(survivors.map((p) => p.record("server", id)));
      return rs.every((x) => x?.status === "ERROR") ? rs[0] : undefined;
    }, DEADLINE_MS + 10_000 + 5_000, 250);
    const tookMs = Date.now() - accepted;
    console.log(`ended ${tookMs} ms after the 202 (deadline ${DEADLINE_MS} ms): ${JSON.stringify(ended.fault)}`);
    expect(tookMs).toBeLessThanOrEqual(DEADLINE_MS + 10_000);
    expect(ended).toMatchObject({ host: null, task_state: null });
    expect((ended.fault as { message: string }).message).toMatch(new RegExp(`^No valid host was found\\. The node scheduling this server \\(${frontId}\\) (is dead|was not heard from)`));
    // Quota: the survivors' views agree that no instance is used any more (the dead node's rights stay with it).
    // The give-back reaches every survivor's view by quota gossip: seconds when idle (5 s measured), past
    // 20 s in a full-suite run on 2 busy cores; the wait is for convergence, the assertion is exact.
    const tq = Date.now();
    const after = await waitFor(`instances usage back to where it was (${before.instances.usage})`, async () => {
      const q = await quotaTotals(survivors, c.project, 5_000).catch(() => undefined);
      return q && q.instances.usage === before.instances.usage ? q : undefined;
    }, 60_000, 500);
    console.log(`quota back on every survivor ${Date.now() - tq} ms after the ERROR`);
    expect(after.instances.usage).toBe(before.instances.usage);
    expect(after.cores.usage).toBe(before.cores.usage);
  }, 120_000);
});
