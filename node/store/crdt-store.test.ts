import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { compareHlc } from "../../protocol/hlc.ts";
import { openCrdtStore, type StoreChange } from "./crdt-store.ts";
import type { KvBatchOptions, KvOp, KvRange, KvStore } from "./kv.ts";
import { LevelKv } from "./level-kv.ts";
import { MemoryKv } from "./memory-kv.ts";

/** A KvStore wrapper that counts batches and can hold them back or fail them. */
class ProbeKv implements KvStore {
  readonly inner = new MemoryKv();
  batches: Array<{ ops: number; sync: boolean }> = [];
  gate: Promise<void> | undefined;
  fail = false;
  get(key: string) {
    return this.inner.get(key);
  }
  async batch(ops: readonly KvOp[], opts?: KvBatchOptions) {
    if (this.gate) await this.gate;
    if (this.fail) throw new Error("disk on fire");
    this.batches.push({ ops: ops.length, sync: opts?.sync === true });
    return this.inner.batch(ops);
  }
  iterate(range?: KvRange) {
    return this.inner.iterate(range);
  }
  close() {
    return this.inner.close();
  }
}

const open = (kv: KvStore, node = "n1", clock = new ManualClock()) => openCrdtStore({ node }, { clock, kv });

describe("CrdtStore local writes", () => {
  it("put, get, list and remove; a later put re-creates the record with only its fields", async () => {
    const s = await open(new MemoryKv());
    await s.put("server", "a", { name: "web", status: "ACTIVE" });
    await s.put("server", "b", { name: "db", status: "SHUTOFF" });
    await s.put("server", "a", { status: "SHUTOFF" });
    expect(s.get("server", "a")).toEqual({ kind: "server", id: "a", name: "web", status: "SHUTOFF" });
    expect(s.list("server", (r) => r.status === "SHUTOFF").map((r) => r.id).sort()).toEqual(["a", "b"]);
    expect(s.list("volume")).toEqual([]);
    const del = await s.remove("server", "a");
    expect(del.deleted).toBeDefined();
    expect(s.get("server", "a")).toBeUndefined();
    expect(s.list("server").map((r) => r.id)).toEqual(["b"]);
    await s.put("server", "a", { name: "again" });
    expect(s.get("server", "a")).toEqual({ kind: "server", id: "a", name: "again" });
    expect(s.seq).toBe(5);
  });

  it("refuses reserved field names and kinds that would break the key layout", async () => {
    const s = await open(new MemoryKv());
    await expect(s.put("server", "a", { id: "x" })).rejects.toMatchObject({ code: "INVALID_RECORD" });
    await expect(s.put("ser/ver", "a", { n: 1 })).rejects.toMatchObject({ code: "INVALID_RECORD" });
    await expect(s.put("server", "", { n: 1 })).rejects.toMatchObject({ code: "INVALID_RECORD" });
    await expect(s.put("server", "a", {})).rejects.toMatchObject({ code: "INVALID_RECORD" });
    expect(s.get("server", "a")).toBeUndefined();
    expect(s.seq).toBe(0);
  });

  it("announces a local write only once its batch is durable", async () => {
    const kv = new ProbeKv();
    const s = await open(kv);
    const seen: StoreChange[] = [];
    s.onChange((c) => seen.push(c));
    s.onChange(() => {
      throw new Error("a bad listener");
    });
    let release!: () => void;
    kv.gate = new Promise((r) => (release = r));
    let resolved = false;
    const p = s.put("server", "a", { name: "web" }).then(() => (resolved = true));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(resolved).toBe(false);
    expect(seen).toEqual([]);
    kv.gate = undefined;
    release();
    await p;
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ local: true, record: { kind: "server", id: "a", name: "web" } });
    expect(kv.batches[0].sync).toBe(true);
  });

  it("group commit: 64 concurrent writers share a few synced batches", async () => {
    const kv = new ProbeKv();
    const s = await open(kv);
    let release!: () => void;
    kv.gate = new Promise((r) => (release = r));
    const first = s.put("server", "first", { n: 0 }); // goes down alone, holding the disk
    for (let i = 0; i < 5; i++) await Promise.resolve();
    const rest = Array.from({ length: 64 }, (_, i) => s.put("server", `w${i}`, { n: i }));
    kv.gate = undefined;
    release();
    await Promise.all([first, ...rest]);
    expect(kv.batches.length).toBe(2);
    expect(kv.batches[1]).toEqual({ ops: 64 * 3, sync: true });
    expect((await s.logSince(0)).map((e) => e.seq)).toEqual(Array.from({ length: 65 }, (_, i) => i + 1));
  });

  it("a failed batch fails the write and every later one (fail-stop)", async () => {
    const kv = new ProbeKv();
    const s = await open(kv);
    kv.fail = true;
    await expect(s.put("server", "a", { n: 1 })).rejects.toThrow("disk on fire");
    kv.fail = false;
    await expect(s.put("server", "b", { n: 1 })).rejects.toMatchObject({ code: "STORE_FAILED" });
  });

  it("the delta log reads from a sequence and trims", async () => {
    const s = await open(new MemoryKv());
    for (let i = 0; i < 5; i++) await s.put("server", `s${i}`, { n: i });
    expect((await s.logSince(3)).map((e) => [e.seq, e.delta.id])).toEqual([[4, "s3"], [5, "s4"]]);
    expect(await s.trimLog(4)).toBe(4);
    expect((await s.logSince(0)).map((e) => e.seq)).toEqual([5]);
  });

  it("purges a tombstone every member acknowledged, and drops it from the digest", async () => {
    const clock = new ManualClock();
    const kv = new MemoryKv();
    const s = await open(kv, "n1", clock);
    await s.put("server", "a", { n: 1 });
    const before = s.digest();
    await s.put("server", "b", { n: 1 });
    clock.advance(10);
    const del = await s.remove("server", "b");
    expect(await s.purgeTombstones({ members: ["n2"], acked: new Map(), horizonMs: 1e9 })).toBe(0);
    expect(await s.purgeTombstones({ members: ["n2"], acked: new Map([["n2", del.deleted!]]), horizonMs: 1e9 })).toBe(1);
    expect(s.stateOf("server", "b")).toBeUndefined();
    expect(s.digest()).toEqual(before);
    expect(await kv.get("r/server/b")).toBeUndefined();
  });
});

describe("CrdtStore on LevelDB: restart", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("rebuilds memory, digest and sequence from LevelDB; the HLC runs ahead of stored stamps", async () => {
    dir = mkdtempSync(join(tmpdir(), "psstore-crdt-"));
    const clock = new ManualClock(2_000_000_000_000);
    let kv = await LevelKv.open(dir);
    let s = await open(kv, "n1", clock);
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.put("server", `s${i}`, { n: i, blob: new Uint8Array([i, 1, 2]) })));
    await s.remove("server", "s7");
    await s.put("volume", "v1", { size: 10, tags: { a: [1, 2] } });
    const digest = s.digest();
    const last = s.stateOf("volume", "v1")!.fields.size.t;
    await s.stop();
    await kv.close();

    clock.set(1_000_000_000_000); // the wall clock stepped back across the restart
    kv = await LevelKv.open(dir);
    s = await open(kv, "n1", clock);
    expect(s.seq).toBe(52);
    expect(s.digest()).toEqual(digest);
    expect(s.list("server")).toHaveLength(49);
    const s3 = s.get("server", "s3")!;
    expect(s3.n).toBe(3);
    expect(s3.blob).toBeInstanceOf(Uint8Array); // binary comes back as a Buffer, a Uint8Array
    expect([...(s3.blob as Uint8Array)]).toEqual([3, 1, 2]);
    expect(s.get("volume", "v1")).toEqual({ kind: "volume", id: "v1", size: 10, tags: { a: [1, 2] } });
    await s.put("volume", "v1", { size: 20 });
    expect(compareHlc(s.stateOf("volume", "v1")!.fields.size.t, last)).toBeGreaterThan(0);
    expect(s.get("volume", "v1")?.size).toBe(20);
    await s.stop();
    await kv.close();
  });
});
