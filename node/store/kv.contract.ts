// The one contract every KvStore implementation runs (STYLE rule 9): level-kv.test.ts, memory-kv.test.ts.
import { describe, expect, it } from "vitest";
import type { KvStore } from "./kv.ts";

export interface KvHarness {
  /** A fresh, empty, open store. */
  open(): Promise<KvStore>;
  /** Closes `kv` and opens the same data again (a restart). */
  reopen(kv: KvStore): Promise<KvStore>;
  /** Removes whatever open() created. */
  cleanup(): Promise<void>;
}

const b = (s: string) => new TextEncoder().encode(s);
const s = (v: Uint8Array | undefined) => (v === undefined ? undefined : new TextDecoder().decode(v));

async function collect(it: AsyncIterable<[string, Uint8Array]>): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [k, v] of it) out.push([k, new TextDecoder().decode(v)]);
  return out;
}

export function kvContract(name: string, harness: KvHarness): void {
  describe(`KvStore contract: ${name}`, () => {
    const withKv = (fn: (kv: KvStore) => Promise<void>) => async () => {
      const kv = await harness.open();
      try {
        await fn(kv);
      } finally {
        await kv.close();
        await harness.cleanup();
      }
    };

    it("get of a missing key is undefined; put then get returns the bytes", withKv(async (kv) => {
      expect(await kv.get("nope")).toBeUndefined();
      await kv.batch([{ type: "put", key: "a", value: b("1") }]);
      expect(s(await kv.get("a"))).toBe("1");
    }));

    it("a batch applies in order: a later op on the same key wins, del removes", withKv(async (kv) => {
      await kv.batch([
        { type: "put", key: "k", value: b("1") },
        { type: "put", key: "k", value: b("2") },
        { type: "put", key: "gone", value: b("x") },
        { type: "del", key: "gone" },
        { type: "del", key: "never-there" },
      ], { sync: true });
      expect(s(await kv.get("k"))).toBe("2");
      expect(await kv.get("gone")).toBeUndefined();
    }));

    it("iterates a prefix in UTF-8 byte order, forward, reverse and limited", withKv(async (kv) => {
      // "\uffff" sorts before an astral character in UTF-8 but after it in UTF-16: the byte order is the contract.
      const keys = ["r/vm/b", "r/vm/a", "r/vm/\uffff", "r/vm/\u{1f600}", "r/vn/a", "r/vl/z", "r/vm", "s/x"];
      await kv.batch(keys.map((key) => ({ type: "put" as const, key, value: b(key) })));
      const fwd = (await collect(kv.iterate({ prefix: "r/vm/" }))).map(([k]) => k);
      expect(fwd).toEqual(["r/vm/a", "r/vm/b", "r/vm/\uffff", "r/vm/\u{1f600}"]);
      expect((await collect(kv.iterate({ prefix: "r/vm/", reverse: true }))).map(([k]) => k)).toEqual([...fwd].reverse());
      expect((await collect(kv.iterate({ prefix: "r/vm/", reverse: true, limit: 1 }))).map(([k]) => k)).toEqual(["r/vm/\u{1f600}"]);
      expect((await collect(kv.iterate({ prefix: "r/", gte: "r/vm/b", lt: "r/vn" }))).map(([k]) => k)).toEqual(["r/vm/b", "r/vm/\uffff", "r/vm/\u{1f600}"]);
      expect((await collect(kv.iterate())).length).toBe(keys.length);
      expect(await collect(kv.iterate({ prefix: "zzz" }))).toEqual([]);
    }));

    it("an iteration sees a snapshot: writes during it do not show", withKv(async (kv) => {
      await kv.batch([1, 2, 3].map((i) => ({ type: "put" as const, key: `p/${i}`, value: b(String(i)) })));
      const seen: string[] = [];
      for await (const [k] of kv.iterate({ prefix: "p/" })) {
        seen.push(k);
        if (seen.length === 1) await kv.batch([{ type: "put", key: "p/9", value: b("9") }, { type: "del", key: "p/3" }]);
      }
      expect(seen).toEqual(["p/1", "p/2", "p/3"]);
      expect((await collect(kv.iterate({ prefix: "p/" }))).map(([k]) => k)).toEqual(["p/1", "p/2", "p/9"]);
    }));

    it("stored values do not change when the caller reuses its buffer", withKv(async (kv) => {
      const buf = b("abc");
      await kv.batch([{ type: "put", key: "v", value: buf }]);
      buf[0] = 0x7a;
      expect(s(await kv.get("v"))).toBe("abc");
    }));

    it("refuses use after close", async () => {
      const kv = await harness.open();
      await kv.close();
      await expect(kv.get("a")).rejects.toMatchObject({ code: "STORE_CLOSED" });
      await expect(kv.batch([{ type: "del", key: "a" }])).rejects.toMatchObject({ code: "STORE_CLOSED" });
      await harness.cleanup();
    });

    it("data survives close and reopen", async () => {
      let kv = await harness.open();
      await kv.batch([{ type: "put", key: "x/1", value: b("one") }, { type: "put", key: "x/2", value: b("two") }], { sync: true });
      kv = await harness.reopen(kv);
      expect(await collect(kv.iterate({ prefix: "x/" }))).toEqual([["x/1", "one"], ["x/2", "two"]]);
      await kv.close();
      await harness.cleanup();
    });
  });
}
