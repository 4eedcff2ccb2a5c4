import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.ts";
import type { KvBatchOptions, KvOp } from "./kv.ts";
import { MemoryKv } from "./memory-kv.ts";

const put = (key: string): KvOp => ({ type: "put", key, value: new Uint8Array([1]) });

class SlowKv extends MemoryKv {
  calls: Array<{ keys: string[]; sync: boolean }> = [];
  release: Array<() => void> = [];
  failNext = false;
  override async batch(ops: readonly KvOp[], opts?: KvBatchOptions): Promise<void> {
    this.calls.push({ keys: ops.map((o) => o.key), sync: opts?.sync === true });
    await new Promise<void>((r) => this.release.push(r));
    if (this.failNext) throw new Error("EIO");
    return super.batch(ops);
  }
}

const ticks = async (n = 10) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe("GroupCommit", () => {
  it("writes submitted in one tick share a batch; writes during a flush go down together next, in order", async () => {
    const kv = new SlowKv();
    const gc = new GroupCommit(kv);
    const done: string[] = [];
    const a = gc.submit([put("a")], false).then(() => done.push("a"));
    const b = gc.submit([put("b")], true).then(() => done.push("b"));
    await ticks();
    expect(kv.calls).toEqual([{ keys: ["a", "b"], sync: true }]);
    const c = gc.submit([put("c1"), put("c2")], false).then(() => done.push("c"));
    const d = gc.submit([put("d")], false).then(() => done.push("d"));
    await ticks();
    expect(kv.calls).toHaveLength(1); // c and d wait for the flush in flight
    kv.release.shift()!();
    await Promise.all([a, b]);
    await ticks();
    expect(kv.calls[1]).toEqual({ keys: ["c1", "c2", "d"], sync: false });
    expect(done).toEqual(["a", "b"]);
    kv.release.shift()!();
    await Promise.all([c, d]);
    expect(done).toEqual(["a", "b", "c", "d"]);
    expect(gc.batches).toBe(2);
    expect(kv.size).toBe(5);
  });

  it("a failed batch rejects its writers, the queued ones, and every later one", async () => {
    const kv = new SlowKv();
    const gc = new GroupCommit(kv);
    const a = gc.submit([put("a")], true);
    await ticks();
    const queued = gc.submit([put("b")], true);
    kv.failNext = true;
    kv.release.shift()!();
    await expect(a).rejects.toThrow("EIO");
    await expect(queued).rejects.toMatchObject({ code: "STORE_FAILED" });
    await expect(gc.submit([put("c")], true)).rejects.toMatchObject({ code: "STORE_FAILED" });
    expect(kv.calls).toHaveLength(1);
  });

  it("drain waits for everything submitted", async () => {
    const kv = new SlowKv();
    const gc = new GroupCommit(kv);
    void gc.submit([put("a")], true);
    let drained = false;
    const dr = gc.drain().then(() => (drained = true));
    await ticks();
    void gc.submit([put("b")], true);
    expect(drained).toBe(false);
    kv.release.shift()!();
    await ticks(20);
    expect(drained).toBe(false);
    kv.release.shift()!();
    await dr;
    expect(kv.size).toBe(2);
  });
});
