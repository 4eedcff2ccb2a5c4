// Prometheus metrics of the mesh, read from the components' counters at scrape time.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Libp2pTransport } from "../adapters/libp2p-transport.ts";
import type { WriteAcks } from "../mesh/acks.ts";
import type { Membership } from "../mesh/membership.ts";
import type { Replicator } from "../mesh/replicator.ts";
import { APPLY_PATHS } from "../mesh/verify.ts";

export interface MeshMetricsSources {
  transport: Libp2pTransport;
  replicator: Replicator;
  membership: Membership;
  acks: WriteAcks;
}

function counter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function meshMetrics(src: MeshMetricsSources): { registry: Registry; lag: Histogram } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "peerstack_process_" });
  new Gauge({
    name: "peerstack_peers",
    help: "Connected peers",
    registers: [registry],
    collect() {
      this.set(src.transport.peers().length);
    },
  });
  new Gauge({
    name: "peerstack_members",
    help: "Known members by liveness state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const counts = { alive: 0, suspect: 0, dead: 0 };
      for (const m of src.membership.view()) counts[m.state]++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  const r = () => src.replicator.stats();
  counter(registry, "peerstack_gossip_messages_in_total", "Gossip messages received", () => src.transport.counters.gossipIn);
  counter(registry, "peerstack_gossip_messages_out_total", "Gossip messages published", () => src.transport.counters.gossipOut);
  counter(registry, "peerstack_deltas_applied_total", "Remote catalog deltas that changed the store", () => r().deltasApplied);
  new Counter({
    name: "peerstack_deltas_forged_dropped_total",
    help: "Remote catalog state dropped because its sender cannot have it (node/mesh/verify.ts), by the path it came on",
    labelNames: ["path"],
    registers: [registry],
    collect() {
      this.reset();
      const byPath = { ...r().forgedByPath, push: src.acks.stats().forgedDropped };
      for (const path of APPLY_PATHS) this.inc({ path }, byPath[path]);
    },
  });
  counter(registry, "peerstack_deltas_relay_deferred_total", "Anti-entropy registers of a connected author left for the author to deliver", () => r().relayDeferred);
  counter(registry, "peerstack_messages_version_refused_total", "Messages refused for an unsupported major version", () => r().versionRefused + src.membership.stats().versionRefused);
  counter(registry, "peerstack_messages_malformed_total", "Gossip messages that failed to decode", () => r().malformedDropped);
  counter(registry, "peerstack_anti_entropy_rounds_total", "Completed anti-entropy rounds (as initiator)", () => r().aeRounds);
  counter(registry, "peerstack_anti_entropy_failed_total", "Failed anti-entropy rounds", () => r().aeFailed);
  counter(registry, "peerstack_anti_entropy_bytes_total", "Bytes exchanged by anti-entropy rounds this node started", () => r().aeBytes);
  counter(registry, "peerstack_anti_entropy_states_in_total", "Record states received through anti-entropy", () => r().aeStatesIn);
  const lag = new Histogram({
    name: "peerstack_replication_lag_ms",
    help: "Time from a remote write's stamp to its arrival here",
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30_000, 300_000],
    registers: [registry],
  });
  src.replicator.onLag((ms) => lag.observe(ms));
  return { registry, lag };
}
