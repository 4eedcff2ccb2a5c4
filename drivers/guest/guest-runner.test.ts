// The guest runner's framing and error handling, against the real agent script run by a local
// bash over pipes (the same bytes that cross the virtio-serial port in the LVM test guest).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { AGENT_SCRIPT } from "./guest-runner-agent.ts";
import { GuestUnavailableError, guestRunner, type GuestRunner } from "./guest-runner.ts";
import { CommandError } from "../errors.ts";

describe("guest runner over the agent protocol", () => {
  let agent: ChildProcess;
  let r: GuestRunner;
  beforeAll(async () => {
    agent = spawn("bash", ["-c", AGENT_SCRIPT, "agent", "-"], { stdio: ["pipe", "pipe", "inherit"] });
    r = guestRunner({ input: agent.stdout!, output: agent.stdin! });
    expect(await r.ready).toBeGreaterThan(0);
  });
  afterAll(() => {
    r.close("test over");
    agent.kill();
  });

  it("returns stdout and stderr byte-exact, with spaces, newlines and non-ASCII in arguments", async () => {
    const arg = "a b\n\tc ünï \\ ' \" $HOME";
    const { stdout, stderr } = await r.run("bash", ["-c", 'printf "%s" "$1"; printf "E\\n" >&2', "x", arg]);
    expect(stdout).toBe(arg);
    expect(stderr).toBe("E\n");
  });

  it("passes empty arguments, backslash escapes and printf directives through untouched", async () => {
    const args = ["", "-", "\\c stop", "%s %b \\x41", "=lead", "tab\there", "a  b", "*"];
    const { stdout } = await r.run("bash", ["-c", 'for a in "$@"; do printf "[%s]" "$a"; done', "x", ...args]);
    expect(stdout).toBe(args.map((a) => `[${a}]`).join(""));
  });

  it("feeds input to the command's stdin and runs in the C locale", async () => {
    expect((await r.run("cat", [], { input: "line1\nline2\n" })).stdout).toBe("line1\nline2\n");
    expect((await r.run("sh", ["-c", "echo $LC_ALL $DM_DISABLE_UDEV"])).stdout).toBe("C 1\n");
  });

  it("a non-zero exit is a typed error keeping command, exit code and stderr", async () => {
    const err = await r.run("sh", ["-c", "echo out; echo boom >&2; exit 5"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: "COMMAND_FAILED", cmd: "sh", exitCode: 5, timedOut: false, stdout: "out\n", stderr: "boom\n" });
    expect(await r.run("no-such-command-ps", []).catch((e: CommandError) => e.exitCode)).toBe(127);
  });

  it("a command over its timeout is killed (exit 124) and the runner keeps working", async () => {
    const err = await r.run("sleep", ["30"], { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ exitCode: null, timedOut: true });
    expect((await r.run("echo", ["after"])).stdout).toBe("after\n");
  });

  it("cwd, env and binary input are honoured as by the local runner", async () => {
    const { stdout } = await r.run("sh", ["-c", 'echo "$PWD $FOO"; od -An -tx1 | tr -d " \n"'], { cwd: "/tmp", env: { FOO: "bar baz" }, input: new Uint8Array([0, 255, 10]) });
    expect(stdout).toBe("/tmp bar baz\n00ff0a");
  });

  it("concurrent calls are queued and each gets its own answer; large output survives", async () => {
    const outs = await Promise.all([1, 2, 3, 4, 5].map((i) => r.run("echo", [String(i)])));
    expect(outs.map((o) => o.stdout)).toEqual(["1\n", "2\n", "3\n", "4\n", "5\n"]);
    const big = await r.run("head", ["-c", "300000", "/dev/zero"]);
    expect(big.stdout.length).toBe(300000);
  });

  it("after close, calls fail fast with GuestUnavailableError", async () => {
    const agent2 = spawn("bash", ["-c", AGENT_SCRIPT, "agent", "-"], { stdio: ["pipe", "pipe", "inherit"] });
    const r2 = guestRunner({ input: agent2.stdout!, output: agent2.stdin! });
    await r2.ready;
    const pending = r2.run("sleep", ["5"]);
    agent2.kill("SIGKILL");
    await expect(pending).rejects.toThrow(GuestUnavailableError);
    await expect(r2.run("echo", ["x"])).rejects.toThrow(GuestUnavailableError);
  });
});
