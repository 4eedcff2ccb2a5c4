// Two gateways with their own stores and mesh-connected IPAMs (memory transport): a port created on
// the node that is not the subnet's home gets an address from a block the home granted it.
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryNetwork } from "../../node/mesh/memory-transport.ts";
import { Ipam, IPALLOC, IPBLOCK } from "../../node/ipam/ipam.ts";
import { turnClock } from "../../node/ipam/testing.ts";
import type { CrdtStore } from "../../node/store/crdt-store.ts";
import { newNodeKey, testGateway, type TestGateway } from "../testing/fixture.ts";
import { networking } from "./plugin.ts";

const gateways: TestGateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close();
});

describe("networking on two nodes", () => {
  it("the non-home node allocates from a granted block, forwards fixed IPs to the owner, and keeps allocating from its block when partitioned", async () => {
    const base = new ManualClock(Date.UTC(2026, 0, 1));
    const net = new MemoryNetwork({ clock: turnClock(base, 0, (fn) => void setImmediate(fn)) });
    const stores: Record<string, CrdtStore> = {};
    const node = async (seed: number) => {
      const key = await newNodeKey();
      const transport = net.join(key.id);
      const lazy = {
        put: (k: string, id: string, f: Record<string, unknown>) => stores[key.id].put(k, id, f),
        remove: (k: string, id: string) => stores[key.id].remove(k, id),
        get: (k: string, id: string) => stores[key.id].get(k, id),
        list: (k: string, f?: Parameters<CrdtStore["list"]>[1]) => stores[key.id].list(k, f),
        applyRemote: (d: Parameters<CrdtStore["applyRemote"]>[0]) => stores[key.id].applyRemote(d),
        stateOf: (k: string, id: string) => stores[key.id].stateOf(k, id),
      };
      const ipam = new Ipam({ store: lazy, node: key.id, transport });
      ipam.start();
      const g = await testGateway({ nodeKey: key, seed, extra: { services: { network: networking({ ipam }) } } });
      stores[key.id] = g.store;
      gateways.push(g);
      return g;
    };
    const a = await node(1);
    const b = await node(2);
    const sync = async (from: TestGateway, to: TestGateway) => void (await to.store.applyRemote((await from.store.logSince(0)).map((e) => e.delta)));
    const call = async (g: TestGateway, method: "POST" | "GET", url: string, payload?: object) => {
      const res = await g.app.inject({ method, url: `/networking/v2.0${url}`, payload, headers: { "x-auth-token": await g.token() } });
      return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
    };

    const network = (await call(a, "POST", "/networks", { network: { name: "n" } })).body.network;
    const subnet = (await call(a, "POST", "/subnets", { subnet: { network_id: network.id, cidr: "10.5.0.0/24" } })).body.subnet;
    await sync(a, b);
    const onB = await call(b, "POST", "/ports", { port: { network_id: network.id } });
    expect(onB.status).toBe(201);
    expect(onB.body.port.fixed_ips).toEqual([{ subnet_id: subnet.id, ip_address: "10.5.0.240" }]);
    expect(b.store.list(IPBLOCK)).toEqual([expect.objectContaining({ owner: b.nodeKey.id, index: 15 })]);
    const onA = await call(a, "POST", "/ports", { port: { network_id: network.id } });
    expect(onA.body.port.fixed_ips[0].ip_address).toBe("10.5.0.3");
    // A fixed IP in A's block asked at B is written by A (the owner).
    const fixed = await call(b, "POST", "/ports", { port: { network_id: network.id, fixed_ips: [{ ip_address: "10.5.0.50" }] } });
    expect(fixed.status).toBe(201);
    expect(a.store.list(IPALLOC, (r) => r.ip === "10.5.0.50")[0]).toMatchObject({ node: a.nodeKey.id });
    expect((await call(a, "POST", "/ports", { port: { network_id: network.id, fixed_ips: [{ ip_address: "10.5.0.50" }] } })).body.NeutronError.type).toBe("IpAddressAlreadyAllocated");
    // Partitioned, B still allocates from its own block; a fixed IP in A's block cannot be served.
    net.partition([a.nodeKey.id], [b.nodeKey.id]);
    expect((await call(b, "POST", "/ports", { port: { network_id: network.id } })).body.port.fixed_ips[0].ip_address).toBe("10.5.0.241");
    const cut = await call(b, "POST", "/ports", { port: { network_id: network.id, fixed_ips: [{ ip_address: "10.5.0.60" }] } });
    expect(cut.status).toBe(503);
    expect(cut.body.NeutronError.type).toBe("IpamOwnerUnreachable");
    expect((await call(a, "POST", "/ports", { port: { network_id: network.id } })).body.port.fixed_ips[0].ip_address).toBe("10.5.0.4");
    net.heal();
    await sync(a, b);
    await sync(b, a);
    for (const g of [a, b]) {
      const ips = g.store.list(IPALLOC).map((r) => r.ip);
      expect(new Set(ips).size).toBe(ips.length);
      expect(ips.sort()).toEqual(["10.5.0.240", "10.5.0.241", "10.5.0.3", "10.5.0.4", "10.5.0.50"]);
    }
  });
});
