import { afterEach, describe, expect, it, vi } from "vitest";
import { SeededRandom } from "../../protocol/random.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { parseIp } from "./cidr.ts";
import { BLOCK_SIZE, IPALLOC, IPAM_PROTOCOL, IPBLOCK, IpExhaustedError, type IpamSubnet } from "./ipam.ts";
import { blockPrefetch, type BlockPrefetch, type PrefetchInit } from "./prefetch.ts";
import { ipamCluster, putSubnet, turnClock, type IpamCluster, type IpamNode } from "./testing.ts";

const defer = (fn: () => void) => void setImmediate(fn);
const base = new ManualClock(Date.UTC(2026, 0, 1));

let cluster: IpamCluster | undefined;
let running: BlockPrefetch[] = [];
afterEach(async () => {
  for (const p of running) p.stop();
  running = [];
  await cluster?.close();
  cluster = undefined;
});

async function make(n: number): Promise<IpamCluster> {
  cluster = await ipamCluster(n, Array.from({ length: n }, () => turnClock(base, 0, defer)), turnClock(base, 0, defer));
  return cluster;
}

/** A prefetcher on `node` whose timers run on `clock` (moved by the test). */
function prefetcher(node: IpamNode, clock: ManualClock, init: PrefetchInit = {}, seed = 1): BlockPrefetch {
  const p = blockPrefetch(init)({ ipam: node.ipam, store: node.store, clock, random: new SeededRandom(seed) });
  p.start();
  running.push(p);
  return p;
}

/** Lets the in-memory requests (setImmediate turns) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 25; i++) await new Promise<void>((r) => setImmediate(r));
}

async function elapse(clock: ManualClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await flush();
  }
}

const SUBNET = { id: "sub-1", cidr: "10.0.0.0/24", gateway_ip: "10.0.0.1", dhcp_ip: "10.0.0.2", allocation_pools: [{ start: "10.0.0.2", end: "10.0.0.254" }] };
const owned = (n: IpamNode, subnet: string) => n.store.list(IPBLOCK, (r) => r.subnet === subnet && r.owner === n.id).map((r) => Number(r.index));
const blockOfIp = (ip: string, cidrBase: string) => Math.floor((parseIp(ip)! - parseIp(cidrBase)!) / BLOCK_SIZE);

describe("ipam block prefetch", () => {
  it("a node that learns a subnet gets a block in the background and, cut off, still allocates from it", async () => {
    const c = await make(3);
    const [home, a, b] = c.nodes;
    const clock = new ManualClock(base.now());
    c.nodes.forEach((n, i) => prefetcher(n, clock, { jitterMs: 2000 }, i + 1));
    const s = await putSubnet(home, SUBNET);
    await c.merge(home, a);
    await c.merge(home, b);
    await elapse(clock, 2500);
    expect(owned(a, s.id)).toHaveLength(1);
    expect(owned(b, s.id)).toHaveLength(1);
    expect(owned(a, s.id)[0]).not.toBe(owned(b, s.id)[0]);
    // The WAN link of b drops: it never allocated on the subnet, yet it allocates from its own block.
    c.net.partition([b.id], [home.id, a.id]);
    const ip = await b.ipam.allocate(s, "p-cut");
    expect(blockOfIp(ip, "10.0.0.0")).toBe(owned(b, s.id)[0]);
    const other = await a.ipam.allocate(s, "p-a");
    const onHome = await home.ipam.allocate(s, "p-home");
    c.net.heal();
    await c.mergeAll();
    for (const n of c.nodes) {
      const live = n.store.list(IPALLOC, (r) => r.subnet === s.id).map((r) => r.ip);
      expect(live.sort()).toEqual([ip, other, onHome].sort());
    }
  });

  it("at start it fetches blocks of the subnets it already knows; no owner reachable backs off exponentially, then gets one", async () => {
    const c = await make(2);
    const [home, a] = c.nodes;
    const s = await putSubnet(home, SUBNET);
    await c.merge(home, a);
    c.net.partition([home.id], [a.id]);
    const clock = new ManualClock(base.now());
    const asks: number[] = [];
    const real = a.ipam.prefetch.bind(a.ipam);
    vi.spyOn(a.ipam, "prefetch").mockImplementation((x: IpamSubnet) => {
      asks.push(clock.now());
      return real(x);
    });
    const p = prefetcher(a, clock, { jitterMs: 500, backoffMs: 1000, maxBackoffMs: 8000 });
    await elapse(clock, 60_000, 250);
    const gaps = asks.slice(1).map((t, i) => t - asks[i]);
    expect(asks.length).toBeGreaterThanOrEqual(6);
    expect(asks.length).toBeLessThanOrEqual(14); // 60 s: ~1, 2, 4, then every ~8 s (×0.5–1.5 jitter)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(12_000);
    expect(gaps.slice(-3).every((g) => g >= 4000)).toBe(true);
    await expect(a.ipam.allocate(s, "p0")).rejects.toBeInstanceOf(IpExhaustedError); // nothing taken while cut off
    c.net.heal();
    await elapse(clock, 13_000, 250);
    expect(owned(a, s.id)).toHaveLength(1);
    expect(p.pending()).toEqual([]);
    const before = asks.length;
    await elapse(clock, 30_000, 1000);
    expect(asks.length).toBe(before); // enough free addresses: no more asks
  });

  it("an allocation that leaves fewer free addresses than the low-water mark fetches another block in the background", async () => {
    const c = await make(2);
    const [home, a] = c.nodes;
    const clock = new ManualClock(base.now());
    prefetcher(a, clock, { jitterMs: 100, lowWater: 4 });
    const s = await putSubnet(home, SUBNET);
    await c.merge(home, a);
    await elapse(clock, 300);
    expect(owned(a, s.id)).toEqual([15]); // 10.0.0.240–254: 15 free
    for (let i = 0; i < 11; i++) await a.ipam.allocate(s, `p${i}`);
    await elapse(clock, 300);
    expect(owned(a, s.id)).toEqual([15]); // 4 free: not below the mark
    await a.ipam.allocate(s, "p11");
    await elapse(clock, 300);
    expect(owned(a, s.id).sort()).toEqual([14, 15]);
    c.net.partition([home.id], [a.id]);
    for (let i = 12; i < 12 + 3 + 16; i++) await a.ipam.allocate(s, `p${i}`);
    await expect(a.ipam.allocate(s, "one-too-many")).rejects.toBeInstanceOf(IpExhaustedError);
  });

  it("the owner answers a repeated or concurrent grant ask with the same block (a lost answer costs no block)", async () => {
    const c = await make(2);
    const [home, a] = c.nodes;
    const s = await putSubnet(home, SUBNET);
    await c.merge(home, a);
    const t = c.net.node(a.id)!;
    const ask = async (have: string[]) => {
      const raw = await t.request(home.id, IPAM_PROTOCOL, new TextEncoder().encode(JSON.stringify({ op: "grant", subnet: s.id, have })));
      return JSON.parse(new TextDecoder().decode(raw)) as { ok: boolean; deltas: Array<{ id: string }> };
    };
    // The answers never reach a's store (lost): asking again gets the same block back.
    const [x, y] = await Promise.all([ask([]), ask([])]);
    const z = await ask([]);
    expect([x, y, z].map((r) => r.deltas.map((d) => d.id))).toEqual([["sub-1/15"], ["sub-1/15"], ["sub-1/15"]]);
    expect(home.store.list(IPBLOCK).map((r) => [r.id, r.owner, r.epoch])).toEqual([["sub-1/15", a.id, 1]]);
    // Once a has it (and says so), a new ask is a new block.
    expect((await ask(["sub-1/15"])).deltas.map((d) => d.id)).toEqual(["sub-1/14"]);
    // Ipam.prefetch adopts the lost grant first.
    expect(await a.ipam.prefetch(s)).toBe("granted");
    expect(owned(a, s.id).sort()).toEqual([14, 15]);
  });

  it("50 nodes learn a subnet at once: asks spread over the jitter window, one block each, then silence", async () => {
    const c = await make(50);
    const [home, ...others] = c.nodes;
    const clock = new ManualClock(base.now());
    c.nodes.forEach((n, i) => prefetcher(n, clock, { jitterMs: 2000 }, 100 + i));
    const grantedAt: number[] = [];
    home.store.onChange((ch) => {
      if (ch.local && ch.delta.kind === IPBLOCK) grantedAt.push(clock.now());
    });
    const s = await putSubnet(home, { id: "wide", cidr: "10.8.0.0/22", gateway_ip: "10.8.0.1", allocation_pools: [{ start: "10.8.0.2", end: "10.8.3.254" }] });
    for (const n of others) await c.merge(home, n); // all learn it in the same instant
    await elapse(clock, 2500);
    const blocks = others.map((n) => owned(n, s.id));
    expect(blocks.every((b) => b.length === 1)).toBe(true);
    expect(new Set(blocks.flat()).size).toBe(49);
    expect(grantedAt).toHaveLength(49);
    expect(Math.max(...grantedAt) - Math.min(...grantedAt)).toBeGreaterThan(1500);
    const perTick = new Map<number, number>();
    for (const t of grantedAt) perTick.set(t, (perTick.get(t) ?? 0) + 1);
    expect(Math.max(...perTick.values())).toBeLessThanOrEqual(6); // 100 ms ticks: ~2.5 per tick on average
    expect(c.net.messages).toBe(2 * 49); // one ask and one answer per node
    await elapse(clock, 60_000, 1000);
    expect(c.net.messages).toBe(2 * 49);
  }, 60_000);

  it("owners with nothing to give are asked again only after refusedRetryMs", async () => {
    const c = await make(3);
    const [home, a, b] = c.nodes;
    const clock = new ManualClock(base.now());
    prefetcher(a, clock, { jitterMs: 100 }, 1);
    prefetcher(b, clock, { jitterMs: 100, refusedRetryMs: 600_000 }, 2);
    // A /27: 2 blocks; the home keeps one, so only one node gets a block.
    const s = await putSubnet(home, { id: "small", cidr: "10.9.0.0/27", gateway_ip: "10.9.0.1", allocation_pools: [{ start: "10.9.0.2", end: "10.9.0.30" }] });
    await c.merge(home, a);
    await elapse(clock, 300);
    await c.merge(home, b);
    await c.merge(a, b);
    await elapse(clock, 300);
    expect(owned(a, s.id)).toEqual([1]);
    expect(owned(b, s.id)).toEqual([]);
    const asked = c.net.messages;
    await elapse(clock, 200_000, 2000);
    expect(c.net.messages).toBe(asked);
  });
});
