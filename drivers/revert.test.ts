import { describe, it, expect } from "vitest";
import { Revert, withRevert } from "./revert.ts";

describe("Revert", () => {
  it("runs undos newest first on fail, once", async () => {
    const log: string[] = [];
    const r = new Revert();
    r.add(() => log.push("a"));
    r.add(async () => {
      await Promise.resolve();
      log.push("b");
    });
    r.add(() => log.push("c"));
    expect(await r.fail()).toEqual([]);
    expect(await r.fail()).toEqual([]);
    expect(log).toEqual(["c", "b", "a"]);
  });

  it("does nothing after success", async () => {
    const log: string[] = [];
    const r = new Revert();
    r.add(() => log.push("a"));
    r.success();
    await r.fail();
    expect(log).toEqual([]);
  });

  it("keeps going when an undo throws and returns the errors", async () => {
    const log: string[] = [];
    const r = new Revert();
    r.add(() => log.push("a"));
    r.add(() => {
      throw new Error("undo b failed");
    });
    r.add(() => log.push("c"));
    const errors = await r.fail();
    expect(log).toEqual(["c", "a"]);
    expect(errors.map((e) => (e as Error).message)).toEqual(["undo b failed"]);
  });

  it("clone hands the undos over", async () => {
    const log: string[] = [];
    const r = new Revert();
    r.add(() => log.push("a"));
    const kept = r.clone();
    await r.fail();
    expect(log).toEqual([]);
    await kept.fail();
    expect(log).toEqual(["a"]);
  });

  it("withRevert undoes on throw and rethrows the original error", async () => {
    const log: string[] = [];
    await expect(
      withRevert(async (r) => {
        r.add(() => log.push("undo1"));
        throw new Error("step 2 failed");
      }),
    ).rejects.toThrow("step 2 failed");
    expect(log).toEqual(["undo1"]);
    expect(await withRevert(async (r) => (r.add(() => log.push("never")), 7))).toBe(7);
    expect(log).toEqual(["undo1"]);
  });
});
