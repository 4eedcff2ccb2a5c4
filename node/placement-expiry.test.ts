import { describe, expect, it } from "vitest";
import { ManualClock } from "../protocol/testing/manual-clock.ts";
import { DEFAULT_EXPIRY_TIMING as T, expiryReason, placementExpiry, type MemberLiveness } from "./placement-expiry.ts";
import type { QuotaAmounts } from "./quota/limits.ts";
import { openCrdtStore } from "./store/crdt-store.ts";
import { MemoryKv } from "./store/memory-kv.ts";

const DEADLINE = 1_700_000_060_000;
const scheduling = (fields: Record<string, unknown> = {}) => ({
  kind: "server",
  id: "s1",
  project_id: "p",
  vcpus: 1,
  ram: 512,
  status: "BUILD",
  task_state: "scheduling",
  host: null,
  scheduled_by: "front",
  place_by: DEADLINE,
  place_attempt: 1,
  ...fields,
});
const members = (...ms: Array<[string, MemberLiveness["state"], number | undefined]>) => new Map(ms.map(([id, state, lastHeardMs]) => [id, { id, state, lastHeardMs }]));
const ctx = { placing: false, startedAt: 0 };
const after = T.driftMs + T.graceMs;

describe("expiryReason: who ends an expired placement, and when", () => {
  it("a dead front node: the lowest live node ends it after deadline + drift + grace, the next one later", () => {
    const m = members(["front", "dead", DEADLINE - 30_000], ["a", "alive", DEADLINE + after], ["b", "alive", DEADLINE + after]);
    expect(expiryReason("a", scheduling(), DEADLINE + after - 1, m, T, ctx)).toBeUndefined();
    expect(expiryReason("a", scheduling(), DEADLINE + after, m, T, ctx)).toMatch(/front\) is dead/);
    expect(expiryReason("b", scheduling(), DEADLINE + after, m, T, ctx)).toBeUndefined(); // a's turn
    expect(expiryReason("b", scheduling(), DEADLINE + after + T.fallbackMs, m, T, ctx)).toMatch(/is dead/);
  });

  it("a front node heard after the deadline is left to end its own placement; one silent since is not", () => {
    const alive = members(["front", "alive", DEADLINE + 5000], ["a", "alive", 0]);
    expect(expiryReason("a", scheduling(), DEADLINE + 60_000, alive, T, ctx)).toBeUndefined();
    const silent = members(["front", "suspect", DEADLINE - 1], ["a", "alive", 0]);
    expect(expiryReason("a", scheduling(), DEADLINE + after, silent, T, ctx)).toMatch(/not heard from since the deadline/);
    expect(expiryReason("a", scheduling(), DEADLINE + after, members(["a", "alive", 0]), T, ctx)).toMatch(/was removed/);
  });

  it("the front node itself: never while it runs the auction; after a restart at once inside its window, else after catching up", () => {
    const m = members(["front", "alive", 0]);
    expect(expiryReason("front", scheduling(), DEADLINE + 60_000, m, T, { placing: true, startedAt: 0 })).toBeUndefined();
    expect(expiryReason("front", scheduling(), DEADLINE - 1000, m, T, { placing: false, startedAt: DEADLINE - 2000 })).toMatch(/restarted/);
    const late = DEADLINE + 60_000;
    expect(expiryReason("front", scheduling(), late, m, T, { placing: false, startedAt: late - 1 })).toBeUndefined();
    expect(expiryReason("front", scheduling(), late, m, T, { placing: false, startedAt: late - T.catchUpMs })).toMatch(/restarted/);
  });

  it("placed, failed and deleting records are not scheduling: nobody touches them", () => {
    const m = members(["a", "alive", 0]);
    for (const f of [{ host: "h1", task_state: "spawning" }, { status: "ERROR", task_state: null }]) expect(expiryReason("a", scheduling(f), DEADLINE * 2, m, T, ctx)).toBeUndefined();
  });
});

describe("placementExpiry", () => {
  async function node(self: string, clock: ManualClock) {
    const store = await openCrdtStore({ node: self }, { clock, kv: new MemoryKv() });
    const released: QuotaAmounts[] = [];
    const live = new Map<string, MemberLiveness>([[self, { id: self, state: "alive", lastHeardMs: clock.now() }]]);
    const watcher = placementExpiry()({
      self,
      clock,
      store,
      quota: { release: async (_p, a) => void released.push(a) },
      quotaOf: (r) => ({ instances: 1, cores: Number(r.vcpus), ram: Number(r.ram) }),
      members: () => [...live.values()],
      placing: () => false,
    });
    return { store, released, live, watcher };
  }

  it("a record that arrives after start, of a dead front node, is ended once: ERROR with the reason, quota back once", async () => {
    const clock = new ManualClock(DEADLINE - 10_000);
    const a = await node("a", clock);
    a.live.set("front", { id: "front", state: "dead", lastHeardMs: DEADLINE - 10_000 });
    const { kind: _k, id: _i, ...fields } = scheduling();
    await a.store.put("server", "s1", fields); // arrives after the watcher started
    await a.store.put("server", "placed", { ...fields, host: "h1", task_state: "spawning" });
    expect(await a.watcher.sweep()).toBe(0); // not yet expired
    clock.advance(10_000 + after);
    expect(await a.watcher.sweep()).toBe(1);
    const r = a.store.get("server", "s1")!;
    expect(r).toMatchObject({ status: "ERROR", host: null, task_state: null, ended_attempt: 1 });
    expect((r.fault as { message: string }).message).toMatch(/^No valid host was found\. The node scheduling this server \(front\) is dead/);
    expect(a.store.get("server", "placed")!.task_state).toBe("spawning");
    expect(await a.watcher.sweep()).toBe(0); // idempotent: once ended, never again
    expect(a.released).toEqual([{ instances: 1, cores: 1, ram: 512 }]);
    a.watcher.stop();
  });

  it("a restarted front node ends its own records, also those that reach it after it started", async () => {
    const clock = new ManualClock(DEADLINE - 30_000);
    const f = await node("front", clock);
    const { kind: _k, id: _i, ...fields } = scheduling();
    f.watcher.start();
    await f.store.put("server", "s1", fields);
    clock.advance(1000); // the periodic sweep runs
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(f.store.get("server", "s1")).toMatchObject({ status: "ERROR" });
    expect(f.released).toHaveLength(1);
    f.watcher.stop();
  });
});
