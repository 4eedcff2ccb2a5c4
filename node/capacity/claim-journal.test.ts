import { describe, expect, it } from "vitest";
import { request } from "../../protocol/placement/testing.ts";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { claimJournal } from "./claim-journal.ts";
import { Ledger } from "./ledger.ts";

const res = { vcpus: 2, ramMb: 1024, diskGb: 10 };
const ledger = () => new Ledger({ node: "h1", total: { vcpus: 4, ramMb: 2048, diskGb: 100 }, ratios: { cpu: 1 } });

describe("claim journal", () => {
  it("a restarted host re-adopts the claims it persisted and refuses what no longer fits", async () => {
    const kv = new MemoryKv();
    const clock = new ManualClock(0);
    const l1 = ledger();
    const j1 = claimJournal()({ clock, kv, ledger: l1 });
    j1.start();
    for (const id of ["a", "b"]) {
      expect(l1.hold(request(id, { resources: res }), 1, 0, 1000).ok).toBe(true);
      expect(l1.claim(id, 1, 0)).toBe("claimed");
      await j1.persist(id);
    }
    // "kill -9": a new ledger from the same disk.
    const l2 = ledger();
    const j2 = claimJournal()({ clock, kv, ledger: l2 });
    expect(await j2.load()).toBe(2);
    expect(l2.usage()).toEqual({ vcpus: 4, ramMb: 2048, diskGb: 20 });
    expect(l2.hold(request("c", { resources: res }), 1, 0, 1000)).toEqual({ ok: false, reason: "RamFilter" });
    // Without the journal the same host would have taken "c" (what the journal prevents).
    expect(ledger().hold(request("c", { resources: res }), 1, 0, 1000).ok).toBe(true);
  });

  it("released claims are deleted after the coalescing delay", async () => {
    const kv = new MemoryKv();
    const clock = new ManualClock(0);
    const l = ledger();
    const j = claimJournal({ tidyMs: 100 })({ clock, kv, ledger: l });
    j.start();
    l.hold(request("a", { resources: res }), 1, 0, 1000);
    l.claim("a", 1, 0);
    await j.persist("a");
    l.release("a");
    expect(j.stored.has("a")).toBe(true);
    clock.advance(100);
    await j.stop();
    expect(j.stored.size).toBe(0);
    const l2 = ledger();
    expect(await claimJournal()({ clock, kv, ledger: l2 }).load()).toBe(0);
  });
});
