// The leak detector of test/lab-e2e.test.ts must be able to fail: a process that holds a file it made
// after the snapshot is seen, the file counts as new, and it is reported while it still exists.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { existedBefore, heldPaths, hostSnapshot, stillThere } from "./host-snapshot.ts";

describe("host snapshot leak detector", () => {
  it("finds a file a process made and holds after the snapshot, by its open fd and its arguments", async () => {
    const before = hostSnapshot(3);
    const dir = mkdtempSync(join(tmpdir(), "psle-snap-"));
    const file = join(dir, "leak.pid");
    writeFileSync(file, "x");
    // Holds the file open (fd 3) and names another path in an argument, as daemons do (--pid-file=…).
    const child = spawn("sh", ["-c", "exec 3<\"$0\"; sleep 30", file, `--pid-file=${join(dir, "other")}`], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const held = heldPaths(child.pid!);
      expect(held).toContain(file);
      expect(held).toContain(join(dir, "other"));
      expect(held.some((p) => p.startsWith("/ip4/"))).toBe(false);
      expect(existedBefore(before, file, 3)).toBe(false);
      expect(existedBefore(before, "/tmp", 3)).toBe(true);
      expect(existedBefore(before, "/opt/elsewhere", 3)).toBe(true);
      expect(stillThere(held.filter((p) => !existedBefore(before, p, 3)))).toEqual([file]);
      expect(hostSnapshot(3).files.has(dir)).toBe(true);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
