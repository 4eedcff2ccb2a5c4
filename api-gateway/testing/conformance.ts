// A populated gateway for the conformance tests (isolation, fuzzing): the real identity, compute,
// image and networking plugins over a real CrdtStore; project "alpha-proj" (member alice) owns one
// of every resource kind, project "beta-proj" (member bob) owns a few of its own. Server placement is
// an in-memory stand-in (the real placement runs in servers-placement.test.ts and the agent tests).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LightMyRequestResponse } from "fastify";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { BlobStore } from "../../node/images/blob-store.ts";
import { attachServerBackend, type ServerBackend } from "../compute/server-backend.ts";
import { imageService } from "../image/plugin.ts";
import { testGateway, type TestGateway } from "./fixture.ts";
import { volumeService } from "../volume/plugin.ts";

export interface World {
  g: TestGateway;
  tokens: { admin: string; alice: string; bob: string };
  /** Ids of alpha's things (project, user, and one of each resource). */
  a: Record<string, string>;
  /** Ids of beta's things. */
  b: Record<string, string>;
  req(method: string, url: string, token: string, o?: { payload?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Writes the BUILD record as the placement service does and places it on this node at once. */
function instantPlacement(g: TestGateway): ServerBackend {
  return {
    placement: {
      quotaOf: (f) => ({ instances: 1, cores: f.vcpus, ram: f.ram }),
      async createServer(req) {
        await g.store.put("server", req.id, { ...req.fields, name: req.name, project_id: req.project, flavor_id: req.flavor.id, vcpus: req.flavor.vcpus, ram: req.flavor.ram, disk: req.flavor.disk, image_id: req.image?.id, group_id: req.group?.id ?? null, status: "BUILD", task_state: "scheduling", host: null });
        const record = { ...g.store.get("server", req.id)! };
        const placed = (async () => {
          await g.store.put("server", req.id, { host: g.nodeKey.id, status: "ACTIVE", vm_state: "active", power_state: 1, task_state: null });
          return { ...g.store.get("server", req.id)! };
        })();
        return { record, placed };
      },
    },
    quota: quotaStandIn,
    consoleOutput: async (s) => `console of ${s.id}`,
  };
}

function must(res: LightMyRequestResponse, what: string, status?: number): Record<string, any> {
  if (res.statusCode >= 300 || (status !== undefined && res.statusCode !== status)) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
  return res.body ? (res.json() as Record<string, any>) : {};
}

/** The quota escrow's surface, unlimited (the real escrow is tested in node/quota and the agent tests). */
const quotaStandIn = { take: async () => {}, release: async () => {}, setLimit: async () => {}, counter: () => bc.empty() };

export async function conformanceWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "psapi-world-"));
  const g = await testGateway({ publicUrl: "http://node-a:8774", extra: { services: { image: imageService({ blobs: new BlobStore(dir) }), volume: volumeService({ quota: quotaStandIn }) } } });
  const detach = attachServerBackend(g.nodeKey.id, instantPlacement(g));
  const req: World["req"] = (method, url, token, o = {}) =>
    g.app.inject({ method: method as "GET", url, headers: { "x-auth-token": token, ...o.headers }, ...(o.payload !== undefined ? { payload: o.payload as object } : {}) });
  const admin = await g.token();
  const member = g.store.list("role", (r) => r.name === "member")[0].id;
  const ids: Record<string, Record<string, string>> = {};
  for (const [proj, user] of [["alpha-proj", "alice"], ["beta-proj", "bob"]]) {
    const p = must(await req("POST", "/identity/v3/projects", admin, { payload: { project: { name: proj, description: `${proj.slice(0, 5)}-secret-desc` } } }), "project").project;
    const u = must(await req("POST", "/identity/v3/users", admin, { payload: { user: { name: user, password: `${user}-pw`, default_project_id: p.id } } }), "user").user;
    must(await req("PUT", `/identity/v3/projects/${p.id}/users/${u.id}/roles/${member}`, admin), "grant");
    ids[user] = { project: p.id, user: u.id };
  }
  const alice = await g.token("alice", "alice-pw", "alpha-proj");
  const bob = await g.token("bob", "bob-pw", "beta-proj");
  const a = ids.alice;
  const b = ids.bob;
  const nova = "/compute/v2.1";
  const neutron = "/networking/v2.0";
  const v = (x: string) => ({ headers: { "openstack-api-version": `compute ${x}` } });

  // Admin: a private flavor only alpha may use, a public image everyone may boot.
  const flavor = must(await req("POST", `${nova}/flavors`, admin, { payload: { flavor: { name: "alpha-flavor", ram: 256, vcpus: 1, disk: 1, "os-flavor-access:is_public": false } } }), "flavor").flavor;
  must(await req("POST", `${nova}/flavors/${flavor.id}/action`, admin, { payload: { addTenantAccess: { tenant: a.project } } }), "flavor access");
  must(await req("POST", `${nova}/flavors/${flavor.id}/os-extra_specs`, admin, { payload: { extra_specs: { "alpha-spec": "1" } } }), "extra spec");
  a.flavor = flavor.id;
  const pub = must(await req("POST", "/image/v2/images", admin, { payload: { name: "public-image", disk_format: "raw", container_format: "bare", visibility: "public" } }), "public image");
  b.publicImage = pub.id;
  // Bits as a real upload brings them: Nova refuses a server from an image that is not active.
  must(await g.app.inject({ method: "PUT", url: `/image/v2/images/${pub.id}/file`, headers: { "x-auth-token": admin, "content-type": "application/octet-stream" }, payload: Buffer.from("public image bits") }), "public upload");

  for (const [who, token, o] of [["alpha", alice, a], ["beta", bob, b]] as const) {
    o.keypair = `${who}-key`;
    must(await req("POST", `${nova}/os-keypairs`, token, { payload: { keypair: { name: o.keypair } } }), "keypair");
    o.group = must(await req("POST", `${nova}/os-server-groups`, token, { payload: { server_group: { name: `${who}-group`, policies: ["anti-affinity"] } } }), "group").server_group.id;
    o.network = must(await req("POST", `${neutron}/networks`, token, { payload: { network: { name: `${who}-net` } } }), "network").network.id;
    o.subnet = must(await req("POST", `${neutron}/subnets`, token, { payload: { subnet: { name: `${who}-subnet`, network_id: o.network, cidr: who === "alpha" ? "10.77.0.0/24" : "10.88.0.0/24", ip_version: 4 } } }), "subnet").subnet.id;
    o.port = must(await req("POST", `${neutron}/ports`, token, { payload: { port: { name: `${who}-port`, network_id: o.network } } }), "port").port.id;
    o.secgroup = must(await req("POST", `${neutron}/security-groups`, token, { payload: { security_group: { name: `${who}-sg` } } }), "secgroup").security_group.id;
    o.rule = must(await req("POST", `${neutron}/security-group-rules`, token, { payload: { security_group_rule: { security_group_id: o.secgroup, direction: "ingress", protocol: "tcp", port_range_min: 22, port_range_max: 22 } } }), "rule").security_group_rule.id;
    o.image = must(await req("POST", "/image/v2/images", token, { payload: { name: `${who}-image`, disk_format: "raw", container_format: "bare", visibility: "private" } }), "image").id;
    must(await g.app.inject({ method: "PUT", url: `/image/v2/images/${o.image}/file`, headers: { "x-auth-token": token, "content-type": "application/octet-stream" }, payload: Buffer.from(`${who} image bits`) }), "upload");
    o.sharedImage = must(await req("POST", "/image/v2/images", token, { payload: { name: `${who}-shared-image`, disk_format: "raw", container_format: "bare", visibility: "shared" } }), "shared image").id;
    must(await g.app.inject({ method: "PUT", url: `/image/v2/images/${o.sharedImage}/file`, headers: { "x-auth-token": token, "content-type": "application/octet-stream" }, payload: Buffer.from(`${who} shared image bits`) }), "shared upload");
    o.queuedImage = must(await req("POST", "/image/v2/images", token, { payload: { name: `${who}-queued-image`, disk_format: "raw", container_format: "bare" } }), "queued image").id;
    const flavorRef = who === "alpha" ? a.flavor : "1";
    const server = must(await req("POST", `${nova}/servers`, token, { payload: { server: { name: `${who}-vm`, flavorRef, imageRef: o.image, key_name: o.keypair, networks: [{ uuid: o.network }], security_groups: [{ name: `${who}-sg` }], metadata: { [`${who}-meta`]: "v" } }, "os:scheduler_hints": { group: o.group } }, ...v("2.37") }), "server", 202).server;
    o.server = server.id;
    // A volume record as the Cinder plugin writes it (kind "volume"), to attach from the compute API.
    o.volume = `${who}-vol-0000-0000-000000000000`;
    await g.store.put("volume", o.volume, { name: `${who}-volume`, project_id: o.project, user_id: o.user, size: 1, status: "available", attachments: [], host: g.nodeKey.id });
    o.snapshot = `${who}-snp-0000-0000-000000000000`;
    await g.store.put("volume_snapshot", o.snapshot, { name: `${who}-snapshot`, project_id: o.project, user_id: o.user, volume_id: o.volume, size: 1, status: "available", host: g.nodeKey.id });
  }
  // alpha shares its image with a third project (so the member routes have a member to find).
  const gamma = must(await req("POST", "/identity/v3/projects", admin, { payload: { project: { name: "gamma-proj" } } }), "gamma").project.id;
  must(await req("POST", `/image/v2/images/${a.sharedImage}/members`, alice, { payload: { member: gamma } }), "member");
  a.member = gamma;
  a.token = alice;
  return {
    g,
    tokens: { admin, alice, bob },
    a,
    b,
    req,
    async close() {
      detach();
      await g.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
