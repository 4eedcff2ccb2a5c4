import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { limits } from "../../protocol/placement/index.ts";
import { request } from "../../protocol/placement/testing.ts";
import { Ledger } from "./ledger.ts";

const TTL = 1000;
const small = { vcpus: 2, ramMb: 2048, diskGb: 10 };

function ledger(): Ledger {
  return new Ledger({ node: "h1", total: { vcpus: 2, ramMb: 4096, diskGb: 40 }, ratios: { cpu: 2 } });
}

describe("Ledger", () => {
  it("holds, claims, and refuses what exceeds total x ratio", () => {
    const l = ledger();
    expect(l.hold(request("a", { resources: small }), 1, 0, TTL).ok).toBe(true);
    expect(l.hold(request("b", { resources: small }), 1, 0, TTL).ok).toBe(true);
    expect(l.hold(request("c", { resources: small }), 1, 0, TTL)).toEqual({ ok: false, reason: "RamFilter" });
    expect(l.claim("a", 1, 10)).toBe("claimed");
    expect(l.usage()).toEqual({ vcpus: 4, ramMb: 4096, diskGb: 20 });
    expect(l.state().instances).toBe(1);
  });

  it("counts what it reserves for volumes as used: bids are refused for disk a volume took, adverts show it", () => {
    const l = ledger();
    let changes = 0;
    l.onChange(() => changes++);
    l.setReserved({ vcpus: 0, ramMb: 0, diskGb: 25 });
    expect(changes).toBe(1);
    l.setReserved({ vcpus: 0, ramMb: 0, diskGb: 25 }); // unchanged: no advert
    expect(changes).toBe(1);
    expect(l.snapshot().used).toEqual({ vcpus: 0, ramMb: 0, diskGb: 25 });
    expect(l.hold(request("a", { resources: small }), 1, 0, TTL).ok).toBe(true); // 25 + 10 <= 40
    expect(l.hold(request("b", { resources: small }), 1, 0, TTL)).toEqual({ ok: false, reason: "DiskFilter" });
    expect(l.usage()).toEqual({ vcpus: 2, ramMb: 2048, diskGb: 35 });
    expect(l.claimedUsage()).toEqual({ vcpus: 0, ramMb: 0, diskGb: 0 }); // servers only
    l.setReserved({ vcpus: 0, ramMb: 0, diskGb: 0 }); // the volume was deleted
    expect(l.hold(request("b", { resources: small }), 1, 0, TTL).ok).toBe(true);
    expect(l.reservedUsage()).toEqual({ vcpus: 0, ramMb: 0, diskGb: 0 });
  });

  it("holds expire after their TTL and then cannot be claimed", () => {
    const l = ledger();
    l.hold(request("a", { resources: small }), 1, 0, TTL);
    expect(l.claim("a", 1, TTL)).toBe("no-hold");
    expect(l.usage().ramMb).toBe(0);
  });

  it("awards are idempotent and fenced by attempt", () => {
    const l = ledger();
    l.hold(request("a"), 2, 0, TTL);
    expect(l.claim("a", 1, 1)).toBe("fenced");
    expect(l.claim("a", 2, 1)).toBe("claimed");
    expect(l.claim("a", 2, 2)).toBe("already-claimed");
    expect(l.hold(request("a"), 2, 3, TTL).ok).toBe(true); // duplicate bid after the claim
    expect(l.claimsList()).toHaveLength(1);
    expect(l.usage().vcpus).toBe(1);
  });

  it("a newer attempt's bid replaces the older hold; the older award is then fenced", () => {
    const l = ledger();
    l.hold(request("a"), 1, 0, TTL);
    l.hold(request("a"), 2, 0, TTL);
    expect(l.holdsList().map((h) => h.attempt)).toEqual([2]);
    expect(l.usage().vcpus).toBe(1);
    expect(l.claim("a", 1, 1)).toBe("fenced");
  });

  it("a release fences the released attempt (a late bid for it is refused)", () => {
    const l = ledger();
    expect(l.release("a", 3)).toBe(false);
    expect(l.hold(request("a"), 2, 0, TTL)).toEqual({ ok: false, reason: "fenced" });
    expect(l.hold(request("a"), 4, 0, TTL).ok).toBe(true);
  });

  it("counts anti-affinity members on holds too, so concurrent bids cannot both land", () => {
    const l = ledger();
    const g = { id: "g", policy: "anti-affinity" as const };
    expect(l.hold(request("a", { group: g }), 1, 0, TTL).ok).toBe(true);
    expect(l.hold(request("b", { group: g }), 1, 0, TTL)).toEqual({ ok: false, reason: "ServerGroupAntiAffinityFilter" });
    l.release("a");
    expect(l.hold(request("b", { group: g }), 1, 0, TTL).ok).toBe(true);
  });

  // Acceptance: the ledger never over-commits under any interleaving of requests, awards, releases,
  // expiries and duplicates.
  it("never over-commits (property, 1000 runs)", () => {
    const servers = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];
    const res = fc.record({ vcpus: fc.integer({ min: 0, max: 5 }), ramMb: fc.integer({ min: 0, max: 3000 }), diskGb: fc.integer({ min: 0, max: 30 }) });
    const op = fc.oneof(
      fc.record({ k: fc.constant("hold" as const), s: fc.constantFrom(...servers), a: fc.integer({ min: 1, max: 3 }), r: res, anti: fc.boolean() }),
      fc.record({ k: fc.constant("claim" as const), s: fc.constantFrom(...servers), a: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ k: fc.constant("release" as const), s: fc.constantFrom(...servers), a: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
      fc.record({ k: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 1500 }) }),
      fc.record({ k: fc.constant("dup" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const l = ledger();
        const cap = limits(l.state());
        let now = 0;
        let last: (typeof ops)[number] | undefined;
        for (const o of ops) {
          const run = o.k === "dup" ? last : o;
          if (!run) continue;
          if (run.k === "hold") l.hold(request(run.s, { resources: run.r, group: run.anti ? { id: "g", policy: "anti-affinity" } : undefined }), run.a, now, TTL);
          else if (run.k === "claim") l.claim(run.s, run.a, now);
          else if (run.k === "release") l.release(run.s, run.a);
          else if (run.k === "tick") {
            now += run.ms;
            if (run.ms % 2 === 0) l.expire(now);
          }
          if (o.k !== "dup") last = o;
          // Recompute from scratch: claims + holds (expired or not yet swept) within total x ratio.
          const all = [...l.claimsList(), ...l.holdsList()];
          const sum = all.reduce((t, a) => ({ vcpus: t.vcpus + a.resources.vcpus, ramMb: t.ramMb + a.resources.ramMb, diskGb: t.diskGb + a.resources.diskGb }), { vcpus: 0, ramMb: 0, diskGb: 0 });
          if (sum.vcpus > cap.vcpus || sum.ramMb > cap.ramMb || sum.diskGb > cap.diskGb) return false;
          if (JSON.stringify(sum) !== JSON.stringify(l.usage())) return false;
          const claimedSum = l.claimsList().reduce((t, a) => ({ vcpus: t.vcpus + a.resources.vcpus, ramMb: t.ramMb + a.resources.ramMb, diskGb: t.diskGb + a.resources.diskGb }), { vcpus: 0, ramMb: 0, diskGb: 0 });
          if (JSON.stringify(claimedSum) !== JSON.stringify(l.claimedUsage())) return false;
          if (new Set(all.map((a) => a.serverId)).size !== all.length) return false; // one allocation per server
          if (all.filter((a) => a.group === "g").length > 1) return false; // anti-affinity on one host
        }
        return true;
      }),
      { numRuns: 1000 },
    );
  });

  it("snapshot() equals state(), is frozen, and is shared only until the next change", () => {
    const l = ledger();
    const s0 = l.snapshot();
    expect(l.snapshot()).toBe(s0);
    expect(s0).toEqual(l.state());
    expect(Object.isFrozen(s0) && Object.isFrozen(s0.used) && Object.isFrozen(s0.groups)).toBe(true);
    const held = l.hold(request("a", { resources: small, group: { id: "g", policy: "anti-affinity" } }), 1, 0, TTL);
    expect(held.ok && held.state).toBe(l.snapshot());
    const s1 = l.snapshot();
    expect(s1).not.toBe(s0);
    expect(s1.used.ramMb).toBe(2048);
    expect(s1.groups.g).toBe(1);
    expect(s0.used.ramMb).toBe(0); // an old snapshot keeps what it said
    l.claim("a", 1, 1);
    expect(l.snapshot().instances).toBe(1);
    l.release("a");
    expect(l.snapshot()).toEqual(l.state());
    expect(l.snapshot().groups.g).toBeUndefined();
    l.hold(request("b", { resources: small }), 1, 0, TTL);
    const before = l.snapshot();
    l.expire(TTL);
    expect(l.snapshot()).not.toBe(before);
    expect(l.snapshot().used.ramMb).toBe(0);
    const copy = l.state();
    copy.used.ramMb = 1;
    expect(l.snapshot().used.ramMb).toBe(0); // state() copies can be changed freely
  });

  it("allClaims() iterates the claims without copying", () => {
    const l = ledger();
    l.hold(request("a", { resources: small }), 1, 0, TTL);
    l.hold(request("b", { resources: small }), 1, 0, TTL);
    l.claim("b", 1, 1);
    expect([...l.allClaims()].map((c) => c.serverId)).toEqual(["b"]);
  });

  it("countHolds: false (tests only) leaves holds out of state(), so a second hold over-commits", () => {
    const blind = new Ledger({ node: "h1", total: { vcpus: 2, ramMb: 4096, diskGb: 40 }, ratios: { cpu: 1 } }, { countHolds: false });
    const big = { vcpus: 2, ramMb: 1024, diskGb: 1 };
    expect(blind.hold(request("a", { resources: big }), 1, 0, TTL).ok).toBe(true);
    expect(blind.state().used.vcpus).toBe(0);
    expect(blind.hold(request("b", { resources: big }), 1, 0, TTL).ok).toBe(true); // the planted bug
    const good = new Ledger({ node: "h1", total: { vcpus: 2, ramMb: 4096, diskGb: 40 }, ratios: { cpu: 1 } });
    expect(good.hold(request("a", { resources: big }), 1, 0, TTL).ok).toBe(true);
    expect(good.hold(request("b", { resources: big }), 1, 0, TTL).ok).toBe(false);
  });
});

