import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { checkPools, defaultPools, formatIp, parseCidr, parseIp } from "./cidr.ts";
import { IPALLOC, IPBLOCK, IpAddressInUseError, InvalidIpForSubnetError, IpamUnreachableError, IpExhaustedError } from "./ipam.ts";
import { blockPrefetch } from "./prefetch.ts";
import { ipamCluster, putSubnet, turnClock, type IpamCluster } from "./testing.ts";

const defer = (fn: () => void) => void setImmediate(fn);
const base = new ManualClock(Date.UTC(2026, 0, 1));

let cluster: IpamCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function make(n: number, skews: number[] = []): Promise<IpamCluster> {
  const clocks = Array.from({ length: n }, (_, i) => turnClock(base, skews[i] ?? 0, defer));
  cluster = await ipamCluster(n, clocks, turnClock(base, 0, defer));
  return cluster;
}

const SUBNET = { id: "sub-1", cidr: "10.0.0.0/24", gateway_ip: "10.0.0.1", dhcp_ip: "10.0.0.2", allocation_pools: [{ start: "10.0.0.2", end: "10.0.0.254" }] };

describe("cidr", () => {
  it("parses and formats IPv4; refuses leading zeros, octets > 255, host bits, bad prefixes", () => {
    expect(formatIp(parseIp("10.1.2.3")!)).toBe("10.1.2.3");
    expect(parseIp("10.01.2.3")).toBeUndefined();
    expect(parseIp("10.1.2.256")).toBeUndefined();
    expect(parseIp("::1")).toBeUndefined();
    expect(parseCidr("192.168.0.0/16")).toEqual({ base: parseIp("192.168.0.0"), prefix: 16, size: 65536 });
    expect(() => parseCidr("10.0.0.1/24")).toThrow(/10.0.0.0\/24' is recommended/);
    expect(() => parseCidr("10.0.0.0/33")).toThrow(/not a valid IPv4 subnet/);
    expect(() => parseCidr("10.0.0.0/31")).toThrow(/no room/);
    expect(() => parseCidr("fd00::/64")).toThrow();
  });

  it("default pools skip the gateway; pool validation finds overlaps, out-of-subnet ranges and the gateway", () => {
    const c = parseCidr("10.0.0.0/24");
    expect(defaultPools(c, parseIp("10.0.0.1"))).toEqual([{ start: "10.0.0.2", end: "10.0.0.254" }]);
    expect(defaultPools(c, parseIp("10.0.0.100"))).toEqual([
      { start: "10.0.0.1", end: "10.0.0.99" },
      { start: "10.0.0.101", end: "10.0.0.254" },
    ]);
    expect(() => checkPools(c, [{ start: "10.0.0.10", end: "10.0.0.20" }, { start: "10.0.0.20", end: "10.0.0.30" }], undefined)).toThrow(/overlapping/);
    expect(() => checkPools(c, [{ start: "10.0.0.10", end: "10.0.1.20" }], undefined)).toThrow(/beyond/);
    expect(() => checkPools(c, [{ start: "10.0.0.1", end: "10.0.0.20" }], parseIp("10.0.0.1"))).toThrow(/Gateway/);
    expect(() => checkPools(c, [{ start: "10.0.0.30", end: "10.0.0.20" }], undefined)).toThrow(/start is after end/);
  });
});

describe("ipam on one node", () => {
  it("hands out pool addresses in order, never the gateway or the DHCP address; releases and reuses", async () => {
    const { nodes } = await make(1);
    const s = await putSubnet(nodes[0], SUBNET);
    const a = nodes[0].ipam;
    expect(await a.allocate(s, "p1")).toBe("10.0.0.3");
    expect(await a.allocate(s, "p2")).toBe("10.0.0.4");
    expect(await a.release(s, "10.0.0.3", "p1")).toBe(true);
    expect(await a.release(s, "10.0.0.3", "p1")).toBe(false);
    expect(await a.allocate(s, "p3")).toBe("10.0.0.3");
    expect(nodes[0].store.list(IPALLOC).map((r) => [r.ip, r.port_id]).sort()).toEqual([
      ["10.0.0.3", "p3"],
      ["10.0.0.4", "p2"],
    ]);
  });

  it("validates fixed IPs: outside the subnet, network/broadcast, gateway, taken", async () => {
    const { nodes } = await make(1);
    const s = await putSubnet(nodes[0], SUBNET);
    const a = nodes[0].ipam;
    expect(await a.allocate(s, "p1", "10.0.0.77")).toBe("10.0.0.77");
    await expect(a.allocate(s, "p2", "10.0.0.77")).rejects.toBeInstanceOf(IpAddressInUseError);
    await expect(a.allocate(s, "p2", "10.0.0.1")).rejects.toBeInstanceOf(IpAddressInUseError);
    await expect(a.allocate(s, "p2", "10.0.1.5")).rejects.toBeInstanceOf(InvalidIpForSubnetError);
    await expect(a.allocate(s, "p2", "10.0.0.255")).rejects.toBeInstanceOf(InvalidIpForSubnetError);
    await expect(a.allocate(s, "p2", "banana")).rejects.toBeInstanceOf(InvalidIpForSubnetError);
    // The automatic allocator skips the fixed one.
    for (let i = 3; i < 77; i++) await a.allocate(s, `q${i}`);
    expect(await a.allocate(s, "next")).toBe("10.0.0.78");
  });

  it("runs out: a /28 with a 3-address pool", async () => {
    const { nodes } = await make(1);
    const s = await putSubnet(nodes[0], { id: "tiny", cidr: "10.9.0.0/28", gateway_ip: "10.9.0.1", allocation_pools: [{ start: "10.9.0.2", end: "10.9.0.4" }] });
    for (const p of ["a", "b", "c"]) await nodes[0].ipam.allocate(s, p);
    await expect(nodes[0].ipam.allocate(s, "d")).rejects.toBeInstanceOf(IpExhaustedError);
  });
});

describe("ipam across nodes", () => {
  it("a node without blocks gets one granted by the home and allocates from it; the home keeps using its own", async () => {
    const c = await make(2);
    const [home, other] = c.nodes;
    const s = await putSubnet(home, SUBNET);
    await c.mergeAll();
    const ip = await other.ipam.allocate(s, "p-other");
    const block = other.store.list(IPBLOCK)[0];
    expect(block).toMatchObject({ subnet: s.id, owner: other.id, epoch: 1, index: 15, range: "10.0.0.240-10.0.0.255" });
    expect(ip).toBe("10.0.0.240");
    expect(await other.ipam.allocate(s, "p-other2")).toBe("10.0.0.241");
    expect(await home.ipam.allocate(s, "p-home")).toBe("10.0.0.3");
    // A fixed IP in the other's block asked at the home is allocated by the other (its owner).
    expect(await home.ipam.allocate(s, "p-fixed", "10.0.0.250")).toBe("10.0.0.250");
    expect(other.store.list(IPALLOC, (r) => r.ip === "10.0.0.250")[0]).toMatchObject({ node: other.id, port_id: "p-fixed" });
    await expect(home.ipam.allocate(s, "p-dup", "10.0.0.241")).rejects.toBeInstanceOf(IpAddressInUseError);
  });

  it("a partitioned node without blocks cannot allocate (escrow: it never takes a block it was not granted)", async () => {
    const c = await make(2);
    const [home, other] = c.nodes;
    const s = await putSubnet(home, SUBNET);
    await c.mergeAll();
    c.net.partition([home.id], [other.id]);
    await expect(other.ipam.allocate(s, "p1")).rejects.toBeInstanceOf(IpExhaustedError);
    await expect(other.ipam.allocate(s, "p1", "10.0.0.9")).rejects.toBeInstanceOf(IpamUnreachableError);
    expect(await home.ipam.allocate(s, "p2", "10.0.0.9")).toBe("10.0.0.9");
    c.net.heal();
    await expect(other.ipam.allocate(s, "p1", "10.0.0.9")).rejects.toBeInstanceOf(IpAddressInUseError);
  });

  // With `prefetch`, every node also runs the background block prefetch (node/ipam/prefetch.ts), whose
  // grants then race the allocations, releases, partitions and merges.
  const scenario = (prefetch: boolean) =>
    fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), async (seed) => {
      const rnd = new SeededRandom(seed);
      const c = await ipamCluster(4, [0, 1, 2, 3].map(() => turnClock(base, rnd.int(400) - 200, defer)), turnClock(base, 0, defer));
      const fetchers = prefetch
        ? c.nodes.map((n, i) => blockPrefetch({ jitterMs: 500, lowWater: 1 + rnd.int(6) })({ ipam: n.ipam, store: n.store, clock: turnClock(base, 0, defer), random: new SeededRandom(seed + i) }))
        : [];
      for (const f of fetchers) f.start();
      try {
        const nodes = c.nodes;
        const home = nodes[rnd.int(4)];
        const s = await putSubnet(home, { id: `s-${seed}`, cidr: "10.1.0.0/26", gateway_ip: "10.1.0.1", dhcp_ip: "10.1.0.2", allocation_pools: [{ start: "10.1.0.2", end: "10.1.0.62" }] });
        for (const n of nodes) await c.merge(home, n);
        const held = new Map<string, string>(); // ip -> port: what has been handed out and not released
        let port = 0;
        let handed = 0;
        for (let round = 0; round < 8; round++) {
          if (rnd.next() < 0.3) {
            const order = [...nodes].sort(() => rnd.next() - 0.5);
            const cut = 1 + rnd.int(3);
            c.net.partition(order.slice(0, cut).map((n) => n.id), order.slice(cut).map((n) => n.id));
          } else c.net.heal();
          const ops = Array.from({ length: 2 + rnd.int(10) }, () => {
            const node = nodes[rnd.int(4)];
            const p = `port-${port++}`;
            const fixed = rnd.next() < 0.25 ? `10.1.0.${1 + rnd.int(62)}` : undefined;
            return node.ipam.allocate(s, p, fixed).then(
              (ip) => ({ ip, p }),
              () => undefined,
            );
          });
          for (const r of await Promise.all(ops)) {
            if (!r) continue;
            expect(held.get(r.ip), `${r.ip} handed to ${r.p} while held by ${held.get(r.ip)}`).toBeUndefined();
            held.set(r.ip, r.p);
            handed++;
          }
          // Release some, at random nodes (which may not even have seen the allocation yet).
          for (const [ip, p] of [...held]) {
            if (rnd.next() < 0.25) {
              if (await nodes[rnd.int(4)].ipam.release(s, ip, p)) held.delete(ip);
            }
          }
          // Random partial merges in random order.
          for (let m = rnd.int(8); m > 0; m--) {
            const from = nodes[rnd.int(4)];
            const to = nodes[rnd.int(4)];
            await c.merge(from, to, from.outbox.filter(() => rnd.next() < 0.6).reverse());
          }
        }
        c.net.heal();
        await c.mergeAll();
        for (const n of nodes) {
          const live = n.store.list(IPALLOC, (r) => r.subnet === s.id);
          expect(new Set(live.map((r) => r.ip)).size).toBe(live.length);
          expect(new Map(live.map((r) => [String(r.ip), String(r.port_id)]))).toEqual(held);
        }
        return handed > 0;
      } finally {
        for (const f of fetchers) f.stop();
        await c.close();
      }
    });

  it("property: concurrent allocations on 4 nodes with skewed clocks, random merges, partitions and releases never hand out an address twice", async () => {
    await fc.assert(scenario(false), { numRuns: 100 });
  }, 120_000);

  it("property: the same with every node prefetching blocks in the background", async () => {
    await fc.assert(scenario(true), { numRuns: 50 });
  }, 120_000);
});
