// `openstack compute service list|set` against three real agents (reconciler off: placement only, no
// VMs): every host is a nova-compute, up; disabling one with the real CLI takes it out of placement
// (its agent stops bidding, ComputeFilter), `hypervisor list` shows it disabled; enabling it brings it back.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openstack } from "./helpers/openstack-cli.ts";
import { startMesh, waitConnected, waitFor, type Mesh } from "./helpers/mesh-process.ts";
import { agentEnv, createServer, FLAVORS, PASSWORD, prepareCluster, waitSettled, withEnv, type Cluster } from "./helpers/placement-cluster.ts";

type Service = { Binary: string; Host: string; Zone: string; Status: string; State: string };

describe("compute services through the openstack CLI", () => {
  let mesh: Mesh;
  let c: Cluster;
  let restore: () => void;
  let cli: string;
  const os = (i: number, args: string[]) => openstack({ url: mesh.nodes[i].httpUrl, dir: cli, password: PASSWORD }, args);

  beforeAll(async () => {
    restore = withEnv(agentEnv());
    mesh = await startMesh(3, { prefix: "pssvc-" });
    await waitConnected(mesh.nodes, 2, 60_000);
    c = await prepareCluster(mesh.nodes);
    cli = join(mesh.dir, "cli");
    mkdirSync(cli, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await mesh?.destroy();
    restore?.();
  });

  /** Creates `n` servers through every front node in turn; returns the hosts (node ids) they were placed on. */
  async function place(n: number, tag: string): Promise<string[]> {
    const ids = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await createServer(c, i % 3, `${tag}-${i}`, FLAVORS[0].id);
      expect(r.status).toBe(202);
      ids.add(String(r.body.server.id));
    }
    const recs = await waitSettled(mesh.nodes, 60_000, ids);
    return recs.filter((r) => ids.has(r.id)).map((r) => String(r.host));
  }

  it("lists every host, disables one out of placement and enables it again", async () => {
    const names = mesh.nodes.map((p) => p.spec.name).sort();
    const listed = (await os(0, ["compute", "service", "list", "-f", "json"])).json() as Service[];
    expect(listed.map((s) => s.Host).sort()).toEqual(names);
    expect(listed.every((s) => s.Binary === "nova-compute" && s.Status === "enabled" && s.State === "up" && s.Zone === "nova")).toBe(true);

    const victim = mesh.nodes[1];
    await os(2, ["compute", "service", "set", "--disable", "--disable-reason", "disk swap", victim.spec.name, "nova-compute"]);
    await waitFor("the host shows disabled everywhere", async () => {
      for (let i = 0; i < 3; i++) {
        const s = ((await os(i, ["compute", "service", "list", "--long", "-f", "json"])).json() as (Service & { "Disabled Reason": string })[]).find((x) => x.Host === victim.spec.name);
        if (s?.Status !== "disabled" || s["Disabled Reason"] !== "disk swap") return false;
      }
      return true;
    }, 30_000, 500);
    // The host's own agent took itself out: its ledger refuses bids whatever a requester's view says.
    await waitFor("the victim's ledger disabled", async () => (await victim.opJson<{ enabled: boolean }>("/peerstack/ledger")).enabled === false, 30_000, 250);
    expect((await os(0, ["hypervisor", "show", victim.spec.name, "-f", "json"])).json()).toMatchObject({ hypervisor_hostname: victim.spec.name, status: "disabled", state: "up" });
    const hosts = await place(9, "while-disabled");
    expect(hosts).toHaveLength(9);
    expect(new Set(hosts).size).toBe(2); // spread over the two others
    expect(hosts).not.toContain(victim.id);

    await os(0, ["compute", "service", "set", "--enable", victim.spec.name, "nova-compute"]);
    await waitFor("enabled again", async () => ((await os(1, ["compute", "service", "list", "-f", "json"])).json() as Service[]).find((s) => s.Host === victim.spec.name)?.Status === "enabled", 30_000, 500);
    await waitFor("the victim's ledger enabled", async () => (await victim.opJson<{ enabled: boolean }>("/peerstack/ledger")).enabled === true, 30_000, 250);
    // The spread weigher now prefers the emptiest host: the one that took nothing while disabled.
    const after = await place(3, "after");
    expect(after).toContain(victim.id);
  }, 300_000);
});
