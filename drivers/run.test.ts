import { readFile } from "node:fs/promises";
import { describe, it, expect } from "vitest";
import { CommandError } from "./errors.ts";
import { PeerstackError } from "../protocol/errors.ts";
import { localRunner, netnsRunner, run } from "./run.ts";

describe("run", () => {
  it("returns stdout and stderr of a successful command", async () => {
    const r = await run("sh", ["-c", 'echo out; echo err >&2']);
    expect(r).toEqual({ stdout: "out\n", stderr: "err\n" });
  });

  it("runs in the C locale with extra env and cwd", async () => {
    const r = await run("sh", ["-c", 'echo "$LC_ALL $FOO $(pwd)"'], { env: { FOO: "bar", LC_ALL: "de_DE.UTF-8" }, cwd: "/tmp" });
    expect(r.stdout).toBe("C bar /tmp\n");
  });

  it("feeds input to stdin", async () => {
    const r = await localRunner.run("tr", ["a-z", "A-Z"], { input: "hello" });
    expect(r.stdout).toBe("HELLO");
  });

  it("throws a typed CommandError with the exit code and stderr", async () => {
    const e = await run("sh", ["-c", "echo bad thing >&2; exit 3"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect(e).toBeInstanceOf(PeerstackError);
    const ce = e as CommandError;
    expect(ce.code).toBe("COMMAND_FAILED");
    expect(ce.exitCode).toBe(3);
    expect(ce.cmd).toBe("sh");
    expect(ce.args).toEqual(["-c", "echo bad thing >&2; exit 3"]);
    expect(ce.stderr).toBe("bad thing\n");
    expect(ce.message).toContain("exited with code 3: bad thing");
  });

  it("reports a command that cannot start", async () => {
    const e = (await run("/nonexistent/psvm-cmd", []).catch((x: unknown) => x)) as CommandError;
    expect(e).toBeInstanceOf(CommandError);
    expect(e.exitCode).toBeNull();
    expect(e.message).toContain("ENOENT");
  });

  it("kills the whole process group on timeout", async () => {
    const started = process.hrtime.bigint();
    const e = (await run("sh", ["-c", "sleep 30 & echo $! ; wait"], { timeoutMs: 300 }).catch((x: unknown) => x)) as CommandError;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(e).toBeInstanceOf(CommandError);
    expect(e.timedOut).toBe(true);
    expect(ms).toBeLessThan(5_000);
    const sleeper = Number(e.stdout.trim());
    expect(sleeper).toBeGreaterThan(0);
    // the grandchild (sleep) is gone too (or a zombie waiting for its new parent to reap it)
    await new Promise((r) => setTimeout(r, 100));
    const state = await readFile(`/proc/${sleeper}/stat`, "utf8").then((s) => s.split(") ")[1][0], () => "gone");
    expect(["gone", "Z"]).toContain(state);
  });

  it("runs inside a network namespace", async () => {
    const ns = `psvm-run-${process.pid}`;
    await run("ip", ["netns", "add", ns]);
    try {
      const r = await netnsRunner(localRunner, ns).run("ip", ["-o", "link", "show"]);
      const links = r.stdout.trim().split("\n");
      expect(links).toHaveLength(1);
      expect(links[0]).toContain("lo:");
      const host = await run("ip", ["-o", "link", "show"]);
      expect(host.stdout.trim().split("\n").length).toBeGreaterThan(1);
    } finally {
      await run("ip", ["netns", "del", ns]);
    }
  });
});
