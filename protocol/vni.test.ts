import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  allocateVni,
  DEFAULT_VNI_RANGE,
  HASHED_PROBES,
  probeIndex,
  resolveVniConflicts,
  vniCandidate,
  VniExhaustedError,
  VniRangeError,
  type VniClaim,
} from "./vni.ts";

const small = { min: 10, max: 17 }; // 8 VNIs: collisions are frequent

describe("vniCandidate / probeIndex", () => {
  it("is a pure function of the network id", () => {
    expect(vniCandidate("net-a", 0)).toBe(vniCandidate("net-a", 0));
    expect(vniCandidate("net-a", 0)).not.toBe(vniCandidate("net-b", 0));
    const v = vniCandidate("net-a", 0);
    expect(v).toBeGreaterThanOrEqual(DEFAULT_VNI_RANGE.min);
    expect(v).toBeLessThanOrEqual(DEFAULT_VNI_RANGE.max);
  });

  it("the probe sequence covers the whole range", () => {
    const seen = new Set<number>();
    for (let i = 0; i < HASHED_PROBES + 8; i++) seen.add(vniCandidate("n1", i, small));
    expect([...seen].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
  });

  it("probeIndex finds the first position of a candidate", () => {
    for (let i = 0; i < HASHED_PROBES + 8; i++) {
      const v = vniCandidate("n1", i, small);
      const p = probeIndex("n1", v, small);
      expect(p).toBeLessThanOrEqual(i);
      expect(vniCandidate("n1", p, small)).toBe(v);
    }
    expect(probeIndex("n1", 9, small)).toBe(Infinity);
    expect(probeIndex("n1", 18, small)).toBe(Infinity);
  });

  it("rejects ranges outside 24 bits", () => {
    expect(() => vniCandidate("n", 0, { min: 0, max: 5 })).toThrow(VniRangeError);
    expect(() => vniCandidate("n", 0, { min: 5, max: 1 << 24 })).toThrow(VniRangeError);
    expect(() => vniCandidate("n", 0, { min: 9, max: 8 })).toThrow(VniRangeError);
  });
});

describe("allocateVni", () => {
  it("table", () => {
    const first = vniCandidate("net-x", 0, small);
    const second = vniCandidate("net-x", 1, small) === first ? vniCandidate("net-x", 2, small) : vniCandidate("net-x", 1, small);
    const rows: Array<{ existing: VniClaim[]; want: number }> = [
      { existing: [], want: first },
      { existing: [{ networkId: "net-x", vni: 17 }], want: 17 }, // already has one: keeps it
      { existing: [{ networkId: "other", vni: first }], want: second },
    ];
    for (const r of rows) expect(allocateVni("net-x", r.existing, small)).toBe(r.want);
  });

  it("throws VniExhaustedError when every VNI is held", () => {
    const full = [10, 11, 12, 13, 14, 15, 16, 17].map((vni) => ({ networkId: `o${vni}`, vni }));
    expect(() => allocateVni("new", full, small)).toThrow(VniExhaustedError);
    expect(allocateVni("new", full.slice(1), small)).toBe(10);
  });

  it("never returns a VNI held by another network (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 10, max: 17 }), { maxLength: 7 }), fc.string(), (held, id) => {
        const existing = held.map((vni, i) => ({ networkId: `other-${i}`, vni }));
        const v = allocateVni(`n-${id}`, existing, small);
        expect(held).not.toContain(v);
        expect(v).toBeGreaterThanOrEqual(10);
        expect(v).toBeLessThanOrEqual(17);
      }),
      { numRuns: 200 },
    );
  });
});

describe("resolveVniConflicts", () => {
  it("table: the claim at the better probe index keeps the VNI", () => {
    // Find two networks whose first candidates collide in the small range.
    const a = "net-a";
    const va = vniCandidate(a, 0, small);
    let b = "";
    for (let i = 0; !b; i++) if (vniCandidate(`net-${i}`, 0, small) === va && `net-${i}` !== a) b = `net-${i}`;
    // b also at its probe 0: tie on index → smaller id wins.
    const { assignment, moved } = resolveVniConflicts([{ networkId: b, vni: va }, { networkId: a, vni: va }], small);
    const winner = a < b ? a : b;
    const loser = a < b ? b : a;
    expect(assignment.get(winner)).toBe(va);
    expect(moved.has(winner)).toBe(false);
    expect(moved.get(loser)).toBe(assignment.get(loser));
    expect(assignment.get(loser)).not.toBe(va);
  });

  it("a network claiming twice keeps its better claim", () => {
    const v0 = vniCandidate("dup", 0, small);
    const other = [10, 11, 12, 13, 14, 15, 16, 17].find((v) => probeIndex("dup", v, small) > 0)!;
    const { assignment, moved } = resolveVniConflicts([{ networkId: "dup", vni: other }, { networkId: "dup", vni: v0 }], small);
    expect(assignment.get("dup")).toBe(v0);
    expect(moved.size).toBe(0);
  });

  const claimsArb = fc.array(fc.record({ networkId: fc.constantFrom("a", "b", "c", "d", "e", "f"), vni: fc.integer({ min: 8, max: 19 }) }), { maxLength: 10 });

  it("yields a collision-free, in-range, order-independent, idempotent assignment (property)", () => {
    fc.assert(
      fc.property(claimsArb, (claims) => {
        const { assignment, moved } = resolveVniConflicts(claims, small);
        const ids = new Set(claims.map((c) => c.networkId));
        expect(new Set(assignment.keys())).toEqual(ids);
        const vnis = [...assignment.values()];
        expect(new Set(vnis).size).toBe(vnis.length); // injective
        for (const v of vnis) expect(v >= 10 && v <= 17).toBe(true);
        // Any order of the same claims gives the same answer.
        const reversed = resolveVniConflicts([...claims].reverse(), small);
        expect(reversed.assignment).toEqual(assignment);
        // Resolving the result again moves nothing.
        const again = resolveVniConflicts([...assignment].map(([networkId, vni]) => ({ networkId, vni })), small);
        expect(again.moved.size).toBe(0);
        // A network that is alone on an in-range VNI never moves.
        for (const c of claims) {
          const sameVni = claims.filter((d) => d.vni === c.vni && d.networkId !== c.networkId);
          const ownOthers = claims.filter((d) => d.networkId === c.networkId && d.vni !== c.vni);
          if (c.vni >= 10 && c.vni <= 17 && sameVni.length === 0 && ownOthers.length === 0) expect(moved.has(c.networkId)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("two nodes creating networks concurrently with partial views converge on one collision-free assignment (property)", () => {
    const idsArb = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(idsArb, idsArb, (onA, onB) => {
        // Each node allocates its own new networks seeing only its own claims (a partition).
        const claimsOf = (ids: string[]) => ids.reduce<VniClaim[]>((acc, id) => [...acc, { networkId: id, vni: allocateVni(id, acc, small) }], []);
        const a = claimsOf(onA.slice(0, 4));
        const b = claimsOf(onB.slice(0, 4));
        // After the partition heals both see the union of the replicated claims.
        const left = resolveVniConflicts([...a, ...b], small).assignment;
        const right = resolveVniConflicts([...b, ...a], small).assignment;
        expect(right).toEqual(left);
        expect(new Set(left.values()).size).toBe(left.size);
      }),
      { numRuns: 200 },
    );
  });
});
