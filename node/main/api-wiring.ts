// Binds the OpenStack API (api-gateway/app.ts `openstackApi`) onto the agent's HTTP listener, next to
// the native /healthz, /mesh, /metrics routes: the node's key signs tokens (any node verifies them
// with the public key its membership record carries), writes wait for peer acks, networking gets the
// mesh-connected IPAM. First start of a cluster (no --join) bootstraps identity; every node that
// knows the admin password writes <dataDir>/openrc pointing at itself. Logic stays in api-gateway/.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PrivateKey } from "@libp2p/interface";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { openstackApi, type GatewayOptions } from "../../api-gateway/app.ts";
import { bootstrapIdentity, openrcText } from "../../api-gateway/identity/bootstrap.ts";
import { networking } from "../../api-gateway/networking/plugin.ts";
import type { ServicePlugin } from "../../api-gateway/service-stubs.ts";
import { volumeService } from "../../api-gateway/volume/plugin.ts";
import type { ComputeQuotas } from "../../api-gateway/compute/limits.ts";
import { attachServerBackend, type ServerBackend } from "../../api-gateway/compute/server-backend.ts";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { Ipam } from "../ipam/ipam.ts";
import { blockPrefetch } from "../ipam/prefetch.ts";
import { systemClock, systemRandom } from "../runtime/system.ts";
import type { QuotaEscrow } from "../quota/escrow.ts";
import { DEFAULT_LIMITS, type QuotaResource } from "../quota/limits.ts";
import type { RunningPlacement } from "./placement-wiring.ts";
import type { WriteAcks } from "../mesh/acks.ts";
import type { DirectTransport } from "../mesh/transport.ts";
import type { CrdtStore } from "../store/crdt-store.ts";

export interface ApiWiring {
  dataDir: string;
  self: string;
  name: string;
  az: string;
  privateKey: PrivateKey;
  store: CrdtStore;
  transport: DirectTransport;
  acks: WriteAcks;
  /** This node's base URL as clients reach it (known once the listener is bound). */
  publicUrl: () => string;
  log: Logger;
  /** node/main/placement-wiring.ts: quota (limits shown by the API) and the placement service. */
  placement?: RunningPlacement;
  /** More options for buildApp (placement, quotas, image/volume services) from other wiring files. */
  extra?: Partial<GatewayOptions>;
  /** node/main/console-wiring.ts: os-getConsoleOutput, read here or forwarded to the server's host. */
  consoleOutput?: ServerBackend["consoleOutput"];
}

export interface MountedApi {
  ipam: Ipam;
  /** After listen: bootstrap (first node of a cluster) and openrc. */
  afterListen(o: { bootstrap: boolean }): Promise<void>;
  stop(): void;
}

/** Admin password: PEERSTACK_ADMIN_PASSWORD, else <dataDir>/admin-password (generated on first start when asked). */
export function adminPassword(dataDir: string, create: boolean, env = process.env): string | undefined {
  if (env.PEERSTACK_ADMIN_PASSWORD) return env.PEERSTACK_ADMIN_PASSWORD;
  const file = join(dataDir, "admin-password");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  if (!create) return undefined;
  const pw = randomBytes(18).toString("base64url");
  writeFileSync(file, `${pw}\n`, { mode: 0o600 });
  return pw;
}

/** The API's compute limits/usage read from the replicated quota counters (Nova defaults until minted). */
export function escrowQuotas(quota: QuotaEscrow, store: CrdtStore): ComputeQuotas {
  const read = (project: string, r: QuotaResource) => quota.counter(project, r);
  return {
    limits(project) {
      const out: Record<string, number> = {};
      for (const r of ["instances", "cores", "ram", "key_pairs", "server_groups", "server_group_members"] as const) {
        const s = read(project, r);
        out[r] = s.target ? s.target.value : DEFAULT_LIMITS[r];
      }
      return out;
    },
    usage(project) {
      return {
        instances: bc.usage(read(project, "instances")),
        cores: bc.usage(read(project, "cores")),
        ram: bc.usage(read(project, "ram")),
        serverGroups: store.list("server_group", (g) => g.project_id === project).length,
      };
    },
  };
}

export async function mountApi(app: FastifyInstance, w: ApiWiring): Promise<MountedApi> {
  const ipam = new Ipam({ store: w.store, node: w.self, transport: w.transport });
  ipam.start();
  // A block of every known subnet ahead of need, so that cut off this node still allocates addresses.
  const prefetch = blockPrefetch()({ ipam, store: w.store, clock: systemClock, random: systemRandom.fork("ipam-prefetch"), log: w.log.child({ component: "ipam" }) });
  prefetch.start();
  const services: NonNullable<GatewayOptions["services"]> = {
    network: networking({ ipam }) as ServicePlugin,
    // Cinder: volumes held by this node (the front node), quota through the escrow.
    volume: volumeService(w.placement ? { quota: w.placement.quota } : {}),
    ...w.extra?.services,
  };
  await app.register(openstackApi, {
    ...(w.placement ? { computeQuotas: escrowQuotas(w.placement.quota, w.store) } : {}),
    ...w.extra,
    store: w.store,
    nodeKey: { id: w.self, privateKey: w.privateKey },
    nodeInfo: { id: w.self, name: w.name, az: w.az, publicUrl: () => process.env.PEERSTACK_PUBLIC_URL ?? w.publicUrl() },
    replicate: (deltas) => w.acks.replicate(deltas),
    services,
  });
  // Server routes: placement service, quota escrow, this node's IPAM and capacity view.
  const detach = w.placement ? attachServerBackend(w.self, { placement: w.placement.placement, quota: w.placement.quota, ipam, capacity: w.placement.view, ...(w.consoleOutput ? { consoleOutput: w.consoleOutput } : {}) }) : undefined;
  return {
    ipam,
    async afterListen({ bootstrap }) {
      const url = process.env.PEERSTACK_PUBLIC_URL ?? w.publicUrl();
      const openrcPath = join(w.dataDir, "openrc");
      const password = adminPassword(w.dataDir, bootstrap);
      if (bootstrap && password) {
        const r = await bootstrapIdentity(w.store, { adminPassword: password, publicUrl: url, openrcPath });
        w.log.info({ created: r.created, openrc: openrcPath }, "identity bootstrap");
      } else if (password) {
        writeFileSync(openrcPath, openrcText({ authUrl: `${url}/identity`, user: "admin", password, project: "admin", region: "RegionOne" }), { mode: 0o600 });
      }
    },
    stop() {
      detach?.();
      prefetch.stop();
      ipam.stop();
    },
  };
}
