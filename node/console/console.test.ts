import { describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { MemoryNetwork } from "../mesh/memory-transport.ts";
import { ConsoleOwnerUnreachableError, consoleService, ConsoleUnavailableError, tailLines, type ConsoleService } from "./console.ts";
import { MAX_CONSOLE_BYTES } from "./messages.ts";

function mesh() {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, latencyMs: 2 });
  const logs = new Map<string, Map<string, string>>();
  const reads: string[] = [];
  const svc = new Map<string, ConsoleService>();
  for (const id of ["n1", "n2", "n3"]) {
    const own = new Map<string, string>();
    logs.set(id, own);
    const s = consoleService({ timeoutMs: 500 })({
      transport: net.join(id),
      async readConsole(serverId) {
        reads.push(`${id}:${serverId}`);
        const t = own.get(serverId);
        if (t === undefined) throw new Error(`no instance "${serverId}" on this host`);
        return t;
      },
    });
    s.start();
    svc.set(id, s);
  }
  const get = (id: string) => svc.get(id)!;
  /** Runs a call while pumping the virtual clock. */
  async function pump<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const q = p.finally(() => (done = true));
    q.catch(() => {});
    for (let i = 0; i < 2000 && !done; i++) await clock.run(1);
    return q;
  }
  return { clock, net, logs, reads, get, pump };
}

const LOG = "boot\r\nline 1\nline 2\x1b[0m\nPEERSTACK-READY ip=none\n";

describe("console service", () => {
  it("reads a server hosted here without the network", async () => {
    const m = mesh();
    m.logs.get("n1")!.set("s1", LOG);
    const before = m.net.messages;
    expect(await m.get("n1").output({ id: "s1", host: "n1" })).toBe("boot\nline 1\nline 2[0m\nPEERSTACK-READY ip=none\n");
    expect(m.net.messages).toBe(before);
    expect(m.reads).toEqual(["n1:s1"]);
  });

  it("asks the owner for a server hosted elsewhere (one request, one answer)", async () => {
    const m = mesh();
    m.logs.get("n2")!.set("s1", LOG);
    const before = m.net.messages;
    const out = await m.pump(m.get("n3").output({ id: "s1", host: "n2" }));
    expect(out).toContain("PEERSTACK-READY");
    expect(m.net.messages - before).toBe(2);
    expect(m.reads).toEqual(["n2:s1"]);
  });

  it("tails the last `length` lines, locally and remotely", async () => {
    const m = mesh();
    m.logs.get("n2")!.set("s1", "a\nb\nc\nd");
    expect(await m.pump(m.get("n1").output({ id: "s1", host: "n2" }, 2))).toBe("c\nd");
    expect(await m.get("n2").output({ id: "s1", host: "n2" }, 1)).toBe("d");
    expect(await m.pump(m.get("n1").output({ id: "s1", host: "n2" }, 0))).toBe("");
    expect(await m.pump(m.get("n1").output({ id: "s1", host: "n2" }, 50))).toBe("a\nb\nc\nd");
    // Nova's split on "\n": a trailing newline counts as an (empty) last line.
    expect(tailLines("x\ny\n", 2)).toBe("y\n");
  });

  it("caps the answer to the last MAX_CONSOLE_BYTES characters", async () => {
    const m = mesh();
    const big = "z".repeat(MAX_CONSOLE_BYTES + 10) + "END";
    m.logs.get("n2")!.set("s1", big);
    const out = await m.pump(m.get("n1").output({ id: "s1", host: "n2" }));
    expect(out.length).toBe(MAX_CONSOLE_BYTES);
    expect(out.endsWith("zEND")).toBe(true);
  });

  it("an unreachable owner is a named error naming the server and host, after the timeout", async () => {
    const m = mesh();
    m.logs.get("n2")!.set("s1", LOG);
    m.net.partition(["n1"], ["n2", "n3"]);
    const t0 = m.clock.now();
    const err = await m.pump(m.get("n1").output({ id: "s1", host: "n2" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleOwnerUnreachableError);
    expect((err as Error).message).toContain('server "s1"');
    expect((err as Error).message).toContain('host "n2"');
    expect(m.clock.now() - t0).toBeGreaterThanOrEqual(500);
    expect(m.reads).toEqual([]);
    // A host that left the mesh entirely, too.
    m.net.heal();
    m.net.leave("n3");
    await expect(m.pump(m.get("n1").output({ id: "s2", host: "n3" }))).rejects.toBeInstanceOf(ConsoleOwnerUnreachableError);
  });

  it("the owner's read failure comes back as ConsoleUnavailableError with the owner's reason", async () => {
    const m = mesh();
    const err = await m.pump(m.get("n1").output({ id: "ghost", host: "n2" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleUnavailableError);
    expect((err as Error).message).toContain('server "ghost"');
    expect((err as Error).message).toContain('no instance "ghost" on this host');
    await expect(m.get("n2").output({ id: "ghost", host: "n2" })).rejects.toBeInstanceOf(ConsoleUnavailableError);
  });

  it("a stopped service refuses requests with a clear reason", async () => {
    const m = mesh();
    m.logs.get("n2")!.set("s1", LOG);
    m.get("n2").stop();
    await expect(m.pump(m.get("n1").output({ id: "s1", host: "n2" }))).rejects.toThrow(/stopping/);
  });
});
