// Catalog propagation: N nodes run the real CrdtStore + replicator over the gossip model with constant
// links; one node writes a record; the time until 99.9 % of nodes hold it is measured.
import { SeededRandom } from "../protocol/random.ts";
import { CATALOG_TOPIC, replicator } from "../node/mesh/replicator.ts";
import { openCrdtStore } from "../node/store/crdt-store.ts";
import { MemoryKv } from "../node/store/memory-kv.ts";
import { SimScheduler } from "./engine/sim-clock.ts";
import { GossipRouter } from "./net/gossip.ts";
import { SimNetwork } from "./net/network.ts";
import { SimMesh } from "./net/sim-transport.ts";

export interface ProbeResult {
  nodes: number;
  linkMs: number;
  reached: number;
  p999Ms: number | null;
  allMs: number | null;
  messages: number;
}

export async function catalogProbe(nodes: number, linkMs = 20, seed = 1): Promise<ProbeResult> {
  const root = new SeededRandom(seed);
  const sched = new SimScheduler();
  const net = new SimNetwork({ lan: { kind: "const", ms: linkMs }, wan: { kind: "const", ms: linkMs }, random: root.fork("network"), sched });
  const mesh = new SimMesh(net, new GossipRouter(net, root.fork("gossip")), CATALOG_TOPIC);
  const arrivals: number[] = [];
  const stores = [];
  for (let i = 0; i < nodes; i++) {
    const node = net.addNode(`n${String(i).padStart(5, "0")}`, "az0");
    const transport = mesh.join(node);
    const store = await openCrdtStore({ node: node.id }, { clock: node.clock, kv: new MemoryKv() });
    // Long anti-entropy period: the probe measures the gossip path.
    replicator({ antiEntropyMs: 600_000, peerWatchMs: 600_000 })({ clock: node.clock, random: root.fork(node.id), transport, store }).start();
    store.onChange((ch) => {
      if (!ch.local) arrivals.push(sched.now());
    });
    stores.push(store);
  }
  await sched.runUntil(sched.now() + 100);
  const before = net.totalMessages;
  const t0 = sched.now();
  await stores[0].put("flavor", "0b6c6f8e-1f0a-4c2b-9d7e-1a2b3c4d5e6f", { name: "m1.probe", vcpu: 1 });
  await sched.runUntil(t0 + 10_000);
  const lags = arrivals.map((t) => t - t0).sort((a, b) => a - b);
  const need = Math.ceil((nodes - 1) * 0.999);
  return {
    nodes,
    linkMs,
    reached: lags.length + 1,
    p999Ms: lags.length >= need ? Math.round(lags[need - 1]) : null,
    allMs: lags.length === nodes - 1 ? Math.round(lags[lags.length - 1]) : null,
    messages: net.totalMessages - before,
  };
}
