// Process wiring of one agent: identity and cluster key, LevelDB + CRDT store, libp2p host and
// transport, replicator, membership, write acks, the public and operator listeners. Logic lives in
// node/mesh; this file only binds.
import { join } from "node:path";
import { publicKeyToProtobuf } from "@libp2p/crypto/keys";
import type { Logger } from "pino";
import { createHost } from "../adapters/libp2p-host.ts";
import { Libp2pTransport } from "../adapters/libp2p-transport.ts";
import type { NodeConfig } from "../config.ts";
import { writeAcks } from "../mesh/acks.ts";
import { CAPACITY_TOPIC, membership } from "../mesh/membership.ts";
import { orphans } from "../orphans.ts";
import { CATALOG_TOPIC, replicator } from "../mesh/replicator.ts";
import { systemClock, systemRandom } from "../runtime/system.ts";
import { openCrdtStore } from "../store/crdt-store.ts";
import { LevelKv } from "../store/level-kv.ts";
import { listenHostPort, listenOperator } from "./listeners.ts";
import { buildOperatorHttp } from "./operator-http.ts";
import { makePrivateDirs } from "./private-dirs.ts";
import { buildMetricsHttp, buildPublicHttp } from "./public-http.ts";
import { loadClusterKey, loadOrCreateIdentity } from "./identity.ts";
import { reconcilerEnv, startReconciler } from "./reconciler-wiring.ts";
import { meshMetrics } from "./metrics.ts";
import { mountApi } from "./api-wiring.ts";
import { PLACEMENT_TOPICS, startPlacement } from "./placement-wiring.ts";
import { placementRoutes } from "./placement-routes.ts";
import { startImages } from "./images-wiring.ts";
import { DEFAULT_LIMITS } from "../quota/limits.ts";
import { startConsole } from "./console-wiring.ts";

export interface RunningAgent {
  id: string;
  httpUrl: string;
  /** Where the operator listener is: `unix:/abs/path` or `host:port` (node/main/operator-client.ts). */
  operator: string;
  p2p: string[];
  stop(): Promise<void>;
}

export async function startAgent(config: NodeConfig, log: Logger): Promise<RunningAgent> {
  // The data dir holds the identity key, the catalog (password hashes, user_data) and the operator socket.
  makePrivateDirs(config.dataDir);
  const identity = await loadOrCreateIdentity(join(config.dataDir, "identity.key"));
  const cluster = loadClusterKey(config.clusterKey, true);
  if (cluster.created) log.info({ file: config.clusterKey }, "created a new cluster key (copy it to every node of this cluster)");
  const kv = await LevelKv.open(join(config.dataDir, "catalog"));
  // Peers refused by the connection gater (set through the debug route: partitions in loopback tests).
  const denied = new Set<string>();
  const host = await createHost({ privateKey: identity.key, clusterKey: cluster.key, listen: config.listen, topics: [CATALOG_TOPIC, CAPACITY_TOPIC, ...PLACEMENT_TOPICS], denyPeer: (p) => denied.has(p) });
  const id = host.peerId.toString();
  const store = await openCrdtStore({ node: id }, { clock: systemClock, kv });
  const transport = new Libp2pTransport(host);
  const mlog = log.child({ component: "mesh" });
  const rep = replicator({ antiEntropyMs: config.antiEntropyMs })({ clock: systemClock, random: systemRandom.fork("anti-entropy"), transport, store, log: mlog });
  const acks = writeAcks({ acks: config.writeAcks })({ transport, store });
  await host.start();
  const addresses = () => host.getMultiaddrs().map((a) => a.toString());
  const members = membership({
    name: config.name,
    az: config.az,
    publicKey: Buffer.from(publicKeyToProtobuf(identity.key.publicKey)).toString("base64"),
    addresses,
    join: config.join,
    advertMs: config.advertMs,
  })({ clock: systemClock, transport, dialer: transport, store, log: mlog });
  rep.start();
  acks.start();
  await members.start();
  host.addEventListener("peer:connect", (e) => mlog.info({ peer: e.detail.toString() }, "peer connected"));
  host.addEventListener("peer:disconnect", (e) => mlog.info({ peer: e.detail.toString() }, "peer disconnected"));

  // Dead-connection detection (see checkConnections): every 4 s, 2 misses of 3 s each. Each ping is a
  // new stream, so this is O(peers) streams per period per node: keep the period well above 1 s.
  let checking = false;
  const checker = setInterval(() => {
    if (checking) return;
    checking = true;
    transport
      .checkConnections(3000)
      .then((dropped) => {
        for (const peer of dropped) mlog.warn({ peer }, "peer stopped answering pings; closed the connection");
      })
      .finally(() => (checking = false));
  }, 4000);
  checker.unref();
  // A removed dead node's servers and volumes are adopted by the node that removed it (node/orphans.ts).
  const lost = orphans({ self: id, store, now: () => new Date(systemClock.now()).toISOString(), log: mlog });
  void lost.sweep();
  const { registry } = meshMetrics({ transport, replicator: rep, membership: members, acks });
  const ops = buildOperatorHttp({ self: id, name: config.name, az: config.az, addresses, store, transport, replicator: rep, membership: members, acks, registry, writeAcks: config.writeAcks, debugRoutes: config.debugRoutes,
    onNodeRemoved: (removed) => lost.adopt(removed),
    async deny(peers: string[]) {
      denied.clear();
      for (const p of peers) denied.add(p);
      await Promise.all(host.getPeers().filter((p) => denied.has(p.toString())).map((p) => host.hangUp(p).catch(() => {})));
    },
  });
  const app = buildPublicHttp(() => ({ node: id, name: config.name, peers: transport.peers().length }), log.child({ component: "http" }));
  const metricsApp = config.metrics ? buildMetricsHttp(registry) : undefined;
  // --- placement hook (node/main/placement-wiring.ts): ledger, adverts, bidder, requester, quota escrow.
  const placement = await startPlacement({ dataDir: config.dataDir, self: id, az: config.az, store, transport, log: log.child({ component: "placement" }), advertMs: config.advertMs, placeTimeoutMs: config.placeTimeoutMs, members: () => members.view(), replicate: (deltas) => acks.replicate(deltas),
    defaultLimits: { ...DEFAULT_LIMITS, image_count_total: config.imageCountTotal, image_size_total: config.imageSizeTotal } });
  placementRoutes(ops, id, placement, { debug: config.debugRoutes }); // GET /peerstack/ledger, /peerstack/quota/:project, /peerstack/placement/stats
  // --- end placement hook
  // --- images hook (node/main/images-wiring.ts): blob store, blob stream, fetcher (the reconciler's ImageSource), Glance.
  const images = startImages({ dataDir: config.dataDir, host, store, log: log.child({ component: "images" }), imagesDir: config.imagesDir, reserveBytes: config.imageReserveBytes, maxVirtualBytes: config.imageMaxVirtualBytes, quota: placement.quota });
  // --- end images hook
  // --- console hook (node/main/console-wiring.ts): /peerstack/console/1, os-getConsoleOutput from any node.
  const consoleLogs = startConsole({ transport, log: log.child({ component: "console" }) });
  // --- end console hook
  // --- API hook (node/main/api-wiring.ts): the OpenStack API on the same listener; IPAM.
  let publicUrl = "";
  const api = await mountApi(app, { dataDir: config.dataDir, self: id, name: config.name, az: config.az, privateKey: identity.key, store, transport, acks, publicUrl: () => publicUrl, log: log.child({ component: "api" }), placement, extra: { services: { image: images.service } }, consoleOutput: consoleLogs.consoleOutput });
  // --- end API hook
  const operator = await listenOperator(ops, config.operator);
  const { url: httpUrl, host: httpHost } = await listenHostPort(app, config.http);
  const metricsUrl = metricsApp ? (await listenHostPort(metricsApp, config.metrics)).url : undefined;
  // --- API hook: identity bootstrap on the first node of a cluster, openrc.
  publicUrl = httpHost === "0.0.0.0" || httpHost === "::" ? httpUrl.replace(httpHost, "127.0.0.1") : httpUrl;
  await api.afterListen({ bootstrap: config.join.length === 0 });
  // --- end API hook
  log.info({ node: id, name: config.name, http: httpUrl, operator, ...(metricsUrl ? { metrics: metricsUrl } : {}), p2p: addresses(), dataDir: config.dataDir, identityCreated: identity.created }, "listening");

  // --- reconciler hook (node/main/reconciler-wiring.ts): converges the records this node owns
  // against the host (QEMU, volumes, taps). PEERSTACK_RECONCILER=off disables it.
  const rcEnv = reconcilerEnv();
  const effects = rcEnv.enabled ? await startReconciler({ dataDir: config.dataDir, self: id, store, log, images: images.fetcher, vg: rcEnv.vg, underlay: rcEnv.underlay, configDrive: rcEnv.configDrive }) : undefined;
  consoleLogs.useCompute(effects?.compute); // console hook: local reads go to the reconciler's compute driver
  // --- end reconciler hook

  let stopped = false;
  return {
    id,
    httpUrl,
    operator,
    p2p: addresses(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(checker);
      lost.stop();
      consoleLogs.stop();
      await effects?.stop();
      api.stop();
      await placement.stop();
      images.stop();
      members.stop();
      rep.stop();
      await app.close();
      await ops.close();
      await metricsApp?.close();
      await host.stop();
      await store.stop();
      await kv.close();
    },
  };
}
