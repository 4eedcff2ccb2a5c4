import { describe, expect, it } from "vitest";
import { ManualClock } from "../protocol/testing/manual-clock.ts";
import { orphans } from "./orphans.ts";
import type { QuotaAmounts } from "./quota/limits.ts";
import { ownerRelease, quotaHolders } from "./quota/owner-release.ts";
import { openCrdtStore } from "./store/crdt-store.ts";
import { MemoryKv } from "./store/memory-kv.ts";

const settle = () => new Promise((r) => setTimeout(r, 5));

describe("records of a removed host", () => {
  it("are adopted by the node that removed it: ERROR with a fault, removed once deleted, quota returned once", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = await openCrdtStore({ node: "r" }, { clock, kv: new MemoryKv() });
    await store.put("server", "live", { project_id: "p", vcpus: 2, ram: 1024, host: "x", status: "ACTIVE" });
    await store.put("server", "gone", { project_id: "p", vcpus: 1, ram: 512, host: "x", status: "ACTIVE", desired: "deleted" });
    await store.put("server", "other", { project_id: "p", vcpus: 1, ram: 512, host: "y", status: "ACTIVE" });
    await store.put("volume", "v1", { project_id: "p", size: 5, host: "x", status: "available" });
    // A port the user gave "live", and one the API made for it (deleted by the API's own hook, not here).
    await store.put("port", "user-port", { device_id: "live", device_owner: "compute:nova", binding_host_id: "x", status: "ACTIVE" });
    await store.put("port", "auto-port", { device_id: "live", device_owner: "compute:nova", binding_host_id: "x", status: "ACTIVE", server_auto_delete: true });
    const released: Array<[string, QuotaAmounts]> = [];
    const returns = ownerRelease({ self: "r", store, kinds: quotaHolders((f) => ({ instances: 1, cores: f.vcpus, ram: f.ram })), quota: { release: async (p, a) => void released.push([p, a]) } });
    const lost = orphans({ self: "r", store, now: () => new Date(clock.now()).toISOString() });

    expect(await lost.adopt("x")).toBe(3);
    await settle();
    await returns.idle();
    expect(store.get("server", "live")).toMatchObject({ adopted_by: "r", status: "ERROR", fault: { message: "host x was removed from the cluster; this server was lost with it" } });
    expect(store.get("volume", "v1")).toMatchObject({ adopted_by: "r", status: "error" });
    expect(store.get("server", "other")?.adopted_by).toBeUndefined();
    expect(store.get("server", "gone")).toBeUndefined(); // already deleted: ended at once
    expect(released).toEqual([["p", { instances: 1, cores: 1, ram: 512 }]]);

    // Deleted later through the API (any node writes the intent): the adopter removes it and returns its quota.
    await store.put("server", "live", { desired: "deleted" });
    await store.put("volume", "v1", { status: "deleting" });
    await settle();
    await returns.idle();
    expect(store.get("server", "live")).toBeUndefined();
    expect(store.get("volume", "v1")).toBeUndefined();
    expect(store.get("port", "user-port")).toMatchObject({ device_id: "", device_owner: "", binding_host_id: "", status: "DOWN" });
    expect(store.get("port", "auto-port")).toMatchObject({ device_id: "live", server_auto_delete: true });
    expect(released).toEqual([["p", { instances: 1, cores: 1, ram: 512 }], ["p", { instances: 1, cores: 2, ram: 1024 }], ["p", { volumes: 1, gigabytes: 5 }]]);
    expect(await lost.adopt("x")).toBe(0); // nothing left of x
    lost.stop();
    returns.stop();
  });

  it("a node that did not adopt them leaves them alone", async () => {
    const clock = new ManualClock(0);
    const store = await openCrdtStore({ node: "q" }, { clock, kv: new MemoryKv() });
    await store.put("server", "s", { project_id: "p", host: "x", adopted_by: "r", status: "ERROR" });
    const lost = orphans({ self: "q", store, now: () => "t" });
    await store.put("server", "s", { desired: "deleted" });
    await settle();
    expect(await lost.sweep()).toBe(0);
    expect(store.get("server", "s")).toBeDefined();
    lost.stop();
  });
});
