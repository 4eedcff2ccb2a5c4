// Unit tests against a scripted QMP server on a unix socket (the real QEMU is exercised in test/qemu-driver.test.ts).
import { describe, it, expect, afterEach } from "vitest";
import { createServer, type Server, type Socket } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QmpClient, QmpCommandError, QmpConnectionError, QmpTimeoutError } from "./qmp.ts";

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 19 } }, capabilities: [] } };

async function fakeQemu(handler: (cmd: { execute: string; id?: string; arguments?: unknown }, s: Socket) => void, opts: { greet?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "psvm-qmp-"));
  const path = join(dir, "qmp.sock");
  const server: Server = createServer((s) => {
    if (opts.greet !== false) s.write(JSON.stringify(GREETING) + "\r\n");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        handler(JSON.parse(line), s);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanups.push(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return path;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const reply = (s: Socket, msg: object) => s.write(JSON.stringify(msg) + "\r\n");

describe("QmpClient", () => {
  it("negotiates, matches answers by id (out of order) and delivers events", async () => {
    const held: Array<() => void> = [];
    const path = await fakeQemu((c, s) => {
      if (c.execute === "qmp_capabilities") reply(s, { return: {}, id: c.id });
      else if (c.execute === "slow") held.push(() => reply(s, { return: "slow-done", id: c.id }));
      else if (c.execute === "query-status") {
        reply(s, { event: "RESUME", timestamp: { seconds: 1, microseconds: 2 } });
        reply(s, { return: { status: "running", running: true }, id: c.id });
        held.forEach((f) => f());
      }
    });
    const q = await QmpClient.connect(path);
    expect(q.version).toBe("7.2.19");
    const events: string[] = [];
    q.onEvent((e) => events.push(e.event));
    const resumed = q.waitEvent("RESUME", { timeoutMs: 1_000 });
    const slow = q.execute("slow");
    expect(await q.execute("query-status")).toEqual({ status: "running", running: true });
    expect(await slow).toBe("slow-done");
    expect((await resumed).timestamp?.seconds).toBe(1);
    expect(events).toEqual(["RESUME"]);
    q.close();
  });

  it("turns an error answer into QmpCommandError with the class", async () => {
    const path = await fakeQemu((c, s) => {
      if (c.execute === "qmp_capabilities") reply(s, { return: {}, id: c.id });
      else reply(s, { error: { class: "CommandNotFound", desc: "The command nope has not been found" }, id: c.id });
    });
    const q = await QmpClient.connect(path);
    const e = (await q.execute("nope").catch((x: unknown) => x)) as QmpCommandError;
    expect(e).toBeInstanceOf(QmpCommandError);
    expect(e.errorClass).toBe("CommandNotFound");
    expect(e.code).toBe("QMP_COMMAND_FAILED");
    q.close();
  });

  it("times out a command and an event wait", async () => {
    const path = await fakeQemu((c, s) => {
      if (c.execute === "qmp_capabilities") reply(s, { return: {}, id: c.id });
    });
    const q = await QmpClient.connect(path);
    await expect(q.execute("hang", undefined, { timeoutMs: 50 })).rejects.toBeInstanceOf(QmpTimeoutError);
    await expect(q.waitEvent("SHUTDOWN", { timeoutMs: 50 })).rejects.toBeInstanceOf(QmpTimeoutError);
    q.close();
  });

  it("times out a server that never greets", async () => {
    const path = await fakeQemu(() => {}, { greet: false });
    await expect(QmpClient.connect(path, { timeoutMs: 200 })).rejects.toBeInstanceOf(QmpTimeoutError);
  });

  it("rejects pending commands when the connection closes", async () => {
    const path = await fakeQemu((c, s) => {
      if (c.execute === "qmp_capabilities") reply(s, { return: {}, id: c.id });
      else s.destroy();
    });
    const q = await QmpClient.connect(path);
    await expect(q.execute("quit")).rejects.toBeInstanceOf(QmpConnectionError);
    await q.closed();
    await expect(q.execute("query-status")).rejects.toBeInstanceOf(QmpConnectionError);
  });

  it("retries until the socket appears, then gives up with a connection error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "psvm-qmp-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const t0 = Date.now();
    await expect(QmpClient.connect(join(dir, "absent.sock"), { timeoutMs: 150 })).rejects.toBeInstanceOf(QmpConnectionError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });
});
