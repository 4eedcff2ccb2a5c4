import { describe, it, expect } from "vitest";
import { Mutex } from "./mutex.ts";

describe("Mutex", () => {
  it("runs critical sections one at a time, in call order, past failures", async () => {
    const m = new Mutex();
    const log: string[] = [];
    const section = (name: string, fail = false) => m.run(async () => {
      log.push(`${name}+`);
      await Promise.resolve();
      await Promise.resolve();
      log.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    });
    const results = await Promise.allSettled([section("a"), section("b", true), section("c")]);
    expect(log).toEqual(["a+", "a-", "b+", "b-", "c+", "c-"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
