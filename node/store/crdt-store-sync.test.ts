// Replication between stores: remote deltas, digests and anti-entropy pulls.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { SeededRandom } from "../../protocol/random.ts";
import { openCrdtStore, type CrdtStore, type RecordDelta, type StoreChange } from "./crdt-store.ts";
import { diffDigests } from "./digest.ts";
import { MemoryKv } from "./memory-kv.ts";

const open = (node: string, clock = new ManualClock()) => openCrdtStore({ node }, { clock, kv: new MemoryKv() });

/** Anti-entropy as the mesh will run it: compare digests, pull the differing buckets both ways. */
async function antiEntropy(a: CrdtStore, b: CrdtStore): Promise<number> {
  const diff = diffDigests(a.digest(), b.digest());
  for (const { kind, bucket } of diff) {
    await b.applyRemote(a.statesIn(kind, bucket));
    await a.applyRemote(b.statesIn(kind, bucket));
  }
  return diff.length;
}

const dump = (s: CrdtStore) => ["server", "volume"].flatMap((k) => s.list(k)).sort((x, y) => (x.kind + x.id < y.kind + y.id ? -1 : 1));

describe("CrdtStore remote deltas", () => {
  it("applies a delta once: a duplicate changes nothing and is not announced again", async () => {
    const a = await open("a");
    const b = await open("b");
    const heard: StoreChange[] = [];
    b.onChange((c) => heard.push(c));
    const d1 = await a.put("server", "s1", { name: "web" });
    const d2 = await a.put("server", "s1", { status: "ACTIVE" });
    expect(await b.applyRemote([d2, d1])).toBe(2);
    expect(await b.applyRemote([d1, d2, d1])).toBe(0);
    expect(heard.map((c) => c.local)).toEqual([false, false]);
    expect(b.get("server", "s1")).toEqual(a.get("server", "s1"));
    expect(b.seq).toBe(0); // remote deltas are not in the local log
    expect(diffDigests(a.digest(), b.digest())).toEqual([]);
  });

  it("refuses malformed deltas and stamps too far in the future, and keeps the good ones", async () => {
    const clock = new ManualClock(1_000_000);
    const b = await openCrdtStore({ node: "b", maxDriftMs: 1000 }, { clock, kv: new MemoryKv() });
    const good: RecordDelta = { kind: "server", id: "ok", fields: { n: { v: 1, t: { wallMs: 1_000_500, counter: 0, node: "a" } } } };
    const future: RecordDelta = { kind: "server", id: "f", fields: { n: { v: 1, t: { wallMs: 1_005_000, counter: 0, node: "a" } } } };
    const bad = [{ kind: "a/b", id: "x", fields: {} }, { kind: "server", id: "x", fields: { n: { v: 1 } } }, null] as unknown as RecordDelta[];
    expect(await b.applyRemote([...bad, future, good])).toBe(1);
    expect(b.get("server", "ok")).toEqual({ kind: "server", id: "ok", n: 1 });
    expect(b.get("server", "f")).toBeUndefined();
    expect(b.stats().rejected).toBe(4);
  });

  it("a remote stamp moves the local HLC forward, so the next local write wins", async () => {
    const a = await open("a", new ManualClock(5_000));
    const b = await open("b", new ManualClock(1_000));
    const fromA = await a.put("server", "s1", { status: "ACTIVE" });
    await b.applyRemote([fromA]);
    await b.put("server", "s1", { status: "SHUTOFF" });
    expect(b.get("server", "s1")?.status).toBe("SHUTOFF");
  });

  // Pinned: both replicas share the max stamp, yet one lost an older field's delta; a digest over
  // only (id, max stamp) would call them equal.
  it("pinned: the digest tells apart replicas that differ only in an older field", async () => {
    const a = await open("a");
    const b = await open("b");
    const d1 = await a.put("server", "s1", { name: "web" });
    const d2 = await a.put("server", "s1", { status: "ACTIVE" });
    await b.applyRemote([d2]);
    const diff = diffDigests(a.digest(), b.digest());
    expect(diff).toHaveLength(1);
    expect(b.statesIn(diff[0].kind, diff[0].bucket).map((s) => s.id)).toEqual(["s1"]);
    await antiEntropy(a, b);
    expect(b.get("server", "s1")).toEqual({ kind: "server", id: "s1", name: "web", status: "ACTIVE" });
    expect(d1.fields.name.v).toBe("web");
  });

  it("statesIn returns exactly the records of one bucket, tombstones included", async () => {
    const a = await open("a");
    for (let i = 0; i < 200; i++) await a.put("server", `s${i}`, { n: i });
    await a.remove("server", "s5");
    const seen = new Set<string>();
    const d = a.digest();
    for (let bucket = 0; bucket < d.buckets; bucket++) {
      const states = a.statesIn("server", bucket);
      expect(states.length).toBe(d.kinds.server.count[bucket]);
      for (const s of states) seen.add(s.id);
    }
    expect(seen.size).toBe(200);
    expect(a.statesIn("server", 0).length).toBeLessThan(20);
  });
});

describe("CrdtStore replicas converge", () => {
  it("3 stores with random writes, lost/duplicated/reordered gossip converge after anti-entropy", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), async (seed) => {
        const rnd = new SeededRandom(seed);
        const clocks = [0, 1, 2].map(() => new ManualClock(1_000 + rnd.int(50)));
        const stores = await Promise.all(clocks.map((c, i) => open(`n${i}`, c)));
        const inflight: Array<{ to: number; delta: RecordDelta }> = [];
        for (let step = 0; step < 30; step++) {
          const i = rnd.int(3);
          clocks[i].advance(rnd.int(3));
          const kind = rnd.int(3) === 0 ? "volume" : "server";
          const id = `r${rnd.int(4)}`;
          const delta = rnd.int(4) === 0 ? await stores[i].remove(kind, id) : await stores[i].put(kind, id, { [`f${rnd.int(3)}`]: step });
          for (let to = 0; to < 3; to++) if (to !== i && rnd.int(4) !== 0) inflight.push({ to, delta });
          while (inflight.length > 0 && rnd.int(2) === 0) {
            const [m] = inflight.splice(rnd.int(inflight.length), 1);
            await stores[m.to].applyRemote([m.delta]);
            if (rnd.int(5) === 0) await stores[m.to].applyRemote([m.delta]);
          }
        }
        await antiEntropy(stores[0], stores[1]);
        await antiEntropy(stores[1], stores[2]);
        await antiEntropy(stores[0], stores[1]);
        for (const s of stores.slice(1)) {
          expect(diffDigests(s.digest(), stores[0].digest())).toEqual([]);
          expect(dump(s)).toEqual(dump(stores[0]));
        }
      }),
      { numRuns: 100 },
    );
  });
});
