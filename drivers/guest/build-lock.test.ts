import { describe, it, expect } from "vitest";
import { mkdtemp, rm, writeFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuildLockTimeoutError, withBuildLock } from "./build-lock.ts";

describe("withBuildLock", () => {
  it("runs holders one at a time, takes over a stale lock, times out on a live one", async () => {
    const d = await mkdtemp(join(tmpdir(), "psvm-lock-"));
    try {
      const lock = join(d, "x.lock");
      const log: string[] = [];
      const job = (n: string) => withBuildLock(lock, async () => {
        log.push(`${n}+`);
        await new Promise((r) => setTimeout(r, 50));
        log.push(`${n}-`);
        return n;
      });
      expect(await Promise.all([job("a"), job("b")])).toEqual(["a", "b"]);
      expect(log).toEqual(["a+", "a-", "b+", "b-"]);
      await expect(stat(lock)).rejects.toThrow();
      await writeFile(lock, "999999999"); // no such pid: stale
      expect(await withBuildLock(lock, async () => "took over")).toBe("took over");
      await writeFile(lock, String(process.pid)); // held by a live process
      await expect(withBuildLock(lock, async () => "never", 300)).rejects.toBeInstanceOf(BuildLockTimeoutError);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
