// The QEMU compute driver: one qemu-system-x86_64 per server, daemonized (its own session,
// stdio on /dev/null, console to a file) so it outlives the agent. Everything about an instance
// lives in <stateDir>/<id>/ (spec.json, qmp.sock, console.log, qemu.pid, fwcfg/), so a new agent
// re-adopts running servers over QMP. Operations on one server are serialised.
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { localRunner, type Runner } from "../run.ts";
import { Revert } from "../revert.ts";
import { accelCounters, hostAccel, type AccelChoice } from "./accel.ts";
import { QmpClient } from "./qmp.ts";
import { fwCfgEntries, instancePaths, qemuArgs, type InstancePaths } from "./qemu-args.ts";
import { clearRuntime, detectFormat, instancePid, kill, waitExit } from "./qemu-process.ts";
import { plugVolume, unplugVolume, volumePlugged } from "./qemu-volumes.ts";
import {
  ComputeError, InvalidServerSpecError, ServerNotFoundError,
  type ComputeDriver, type PowerState, type RebootOptions, type ServerSpec, type ServerStatus, type StopOptions,
} from "./interface.ts";

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface QemuDriverInit {
  /** Instance directories live here (keep it short: the QMP socket path must fit 107 bytes). */
  stateDir: string;
  runner?: Runner;
  logger?: Logger;
  /** Default qemu-system-x86_64. */
  qemu?: string;
  /** Default: hostAccel() (PVM-aware detection, once per process). */
  detectAccel?: () => Promise<AccelChoice>;
  /** Timeout for QEMU to start (it daemonizes once the VM is set up). Default 30 s. */
  spawnTimeoutMs?: number;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const QMP_TIMEOUT = { timeoutMs: 3_000, commandTimeoutMs: 10_000 };
const silent: Logger = { info: () => {}, warn: () => {} };

const STATE_OF: Record<string, PowerState> = { running: "running", shutdown: "shutdown" };

/** The console log is appended across boots; at each start keep only its last CONSOLE_KEEP bytes. */
const CONSOLE_MAX = 4 * 1024 * 1024;
const CONSOLE_KEEP = 1024 * 1024;

async function trimConsole(path: string): Promise<void> {
  const size = await stat(path).then((s) => s.size, () => 0);
  if (size <= CONSOLE_MAX) return;
  const text = await readFile(path);
  await writeFile(`${path}.tmp`, text.subarray(text.length - CONSOLE_KEEP));
  await rename(`${path}.tmp`, path);
}

export function qemuDriver(init: QemuDriverInit): ComputeDriver {
  const runner = init.runner ?? localRunner;
  const log = init.logger ?? silent;
  const qemu = init.qemu ?? "qemu-system-x86_64";
  const detect = init.detectAccel ?? hostAccel;
  const locks = new Map<string, Promise<unknown>>();

  /** Serialises operations on one server. */
  function locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    locks.set(id, tail);
    void tail.then(() => locks.get(id) === tail && locks.delete(id));
    return next;
  }

  const pathsOf = (id: string): InstancePaths => {
    if (!ID_RE.test(id)) throw new InvalidServerSpecError(`server id "${id}" must match ${ID_RE}`);
    return instancePaths(init.stateDir, id);
  };

  async function readSpec(p: InstancePaths, id: string, action: string): Promise<ServerSpec> {
    try {
      return JSON.parse(await readFile(p.spec, "utf8")) as ServerSpec;
    } catch {
      throw new ServerNotFoundError(id, action);
    }
  }

  async function withQmp<T>(p: InstancePaths, fn: (q: QmpClient) => Promise<T>): Promise<T> {
    const q = await QmpClient.connect(p.qmp, QMP_TIMEOUT);
    try {
      return await fn(q);
    } finally {
      q.close();
    }
  }

  async function statusOf(id: string, p: InstancePaths): Promise<ServerStatus> {
    const pid = await instancePid(p);
    if (pid === undefined) return { id, state: "stopped" };
    const runtime = JSON.parse(await readFile(p.runtime, "utf8").catch(() => "{}")) as { accel?: "kvm" | "tcg" };
    try {
      const s = await withQmp(p, (q) => q.execute<{ status: string; running: boolean }>("query-status"));
      return { id, state: STATE_OF[s.status] ?? "paused", pid, accel: runtime.accel, detail: s.status };
    } catch (e) {
      return { id, state: "running", pid, accel: runtime.accel, detail: `QMP unreachable: ${(e as Error).message}` };
    }
  }

  /** QMP on a server whose QEMU runs (ServerNotFoundError when there is none). */
  async function runningQmp<T>(id: string, action: string, fn: (q: QmpClient) => Promise<T>): Promise<T> {
    const p = pathsOf(id);
    await readSpec(p, id, action);
    if ((await instancePid(p)) === undefined) throw new ServerNotFoundError(id, `${action}: not running`);
    return withQmp(p, fn);
  }

  async function spawnQemu(spec: ServerSpec, p: InstancePaths): Promise<void> {
    const action = `starting server "${spec.id}"`;
    let accel: "kvm" | "tcg" = spec.accel === "kvm" || spec.accel === "tcg" ? spec.accel : "tcg";
    if ((spec.accel ?? "auto") === "auto") {
      const c = await detect();
      accel = c.accel;
      if (accel === "tcg") {
        accelCounters.tcgFallbacks++;
        log.warn({ server: spec.id, reason: c.reason, tcgFallbacks: accelCounters.tcgFallbacks }, "KVM not usable: running the server under TCG (slow)");
      }
    }
    const diskFormats = await Promise.all(
      spec.disks.map(async (d) => {
        try {
          return d.format ?? (await detectFormat(d.path));
        } catch (e) {
          throw new InvalidServerSpecError(`${action}: disk ${d.path}: ${(e as Error).message}`);
        }
      }),
    );
    await clearRuntime(p);
    await trimConsole(p.console);
    await rm(p.fwcfgDir, { recursive: true, force: true });
    // fw_cfg carries the tenant's user_data: the agent user's alone.
    await mkdir(p.fwcfgDir, { recursive: true, mode: 0o700 });
    for (const [k, v] of Object.entries(fwCfgEntries(spec))) await writeFile(join(p.fwcfgDir, k), v, { mode: 0o600 });
    const args = [...qemuArgs({ spec, paths: p, accel, diskFormats }), "-daemonize"];
    const t0 = Date.now();
    try {
      await runner.run(qemu, args, { timeoutMs: init.spawnTimeoutMs ?? 30_000, ...(spec.netns ? { netns: spec.netns } : {}) });
    } catch (e) {
      await clearRuntime(p);
      throw new ComputeError(action, { cause: e });
    }
    const pid = await instancePid(p);
    if (pid === undefined) throw new ComputeError(`${action}: QEMU daemonized but its pidfile names no live process`);
    await writeFile(p.runtime, JSON.stringify({ accel, pid, startedAt: new Date().toISOString() }) + "\n");
    log.info({ server: spec.id, pid, accel, ms: Date.now() - t0 }, "server started");
  }

  async function startLocked(id: string): Promise<ServerStatus> {
    const p = pathsOf(id);
    const spec = await readSpec(p, id, `starting server "${id}"`);
    const st = await statusOf(id, p);
    if (st.state === "stopped") await spawnQemu(spec, p);
    else if (st.state === "paused" || st.state === "shutdown") {
      await withQmp(p, async (q) => {
        if (st.state === "shutdown") await q.execute("system_reset");
        await q.execute("cont");
      });
    }
    return statusOf(id, p);
  }

  async function stopLocked(id: string, timeoutMs: number): Promise<ServerStatus> {
    const p = pathsOf(id);
    const pid = await instancePid(p);
    if (pid === undefined) {
      await clearRuntime(p);
      return { id, state: "stopped" };
    }
    let gone = false;
    if (timeoutMs > 0) {
      const st = await statusOf(id, p);
      if (st.state === "running") {
        await withQmp(p, (q) => q.execute("system_powerdown")).catch((e: unknown) => log.warn({ server: id, err: (e as Error).message }, "system_powerdown failed"));
        gone = await waitExit(pid, timeoutMs);
        if (!gone) log.warn({ server: id, timeoutMs }, "guest ignored the power button: forcing the stop");
      }
    }
    if (!gone) {
      await withQmp(p, (q) => q.execute("quit").catch(() => {})).catch(() => {});
      gone = await waitExit(pid, 3_000);
    }
    if (!gone) {
      kill(pid, "SIGKILL");
      if (!(await waitExit(pid, 5_000))) throw new ComputeError(`stopping server "${id}": QEMU pid ${pid} survives SIGKILL`);
    }
    await clearRuntime(p);
    log.info({ server: id, graceful: timeoutMs > 0 }, "server stopped");
    return { id, state: "stopped" };
  }

  async function rebootLocked(id: string, kind: "soft" | "hard", timeoutMs: number): Promise<ServerStatus> {
    const p = pathsOf(id);
    await readSpec(p, id, `rebooting server "${id}"`);
    const st = await statusOf(id, p);
    if (st.state === "stopped") return startLocked(id);
    await withQmp(p, async (q) => {
      if (kind === "soft" && st.state === "running") {
        const reset = q.waitEvent("RESET", { timeoutMs });
        await q.execute("send-key", { keys: ["ctrl", "alt", "delete"].map((k) => ({ type: "qcode", data: k })) });
        const ok = await reset.then(() => true, () => false);
        if (ok) return;
        log.warn({ server: id, timeoutMs }, "guest ignored ctrl-alt-del: resetting it");
      }
      await q.execute("system_reset");
      if (st.state !== "running") await q.execute("cont");
    });
    log.info({ server: id, kind }, "server rebooted");
    return statusOf(id, p);
  }

  return {
    name: "qemu",

    create(spec) {
      return locked(spec.id, async () => {
        const p = pathsOf(spec.id);
        const action = `creating server "${spec.id}"`;
        if (!(spec.memoryMb > 0) || spec.disks.length === 0) throw new InvalidServerSpecError(`${action}: needs memoryMb > 0 and a boot disk`);
        if (spec.vcpus !== undefined && !(Number.isInteger(spec.vcpus) && spec.vcpus > 0)) throw new InvalidServerSpecError(`${action}: vcpus must be a positive integer`);
        for (const n of spec.nics) {
          if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(n.mac)) throw new InvalidServerSpecError(`${action}: MAC "${n.mac}" is not aa:bb:cc:dd:ee:ff`);
          if (!/^[A-Za-z0-9_.-]{1,15}$/.test(n.tap)) throw new InvalidServerSpecError(`${action}: tap name "${n.tap}" is not a 1-15 character interface name`);
        }
        if (Buffer.byteLength(p.qmp) > 107) throw new InvalidServerSpecError(`${action}: QMP socket path ${p.qmp} is longer than 107 bytes; use a shorter stateDir`);
        for (const d of spec.disks) await stat(d.path).catch(() => Promise.reject(new InvalidServerSpecError(`${action}: disk ${d.path} does not exist`)));
        const fresh = !(await stat(p.spec).then(() => true, () => false));
        const r = new Revert();
        try {
          await mkdir(p.dir, { recursive: true, mode: 0o700 });
          if (fresh) r.add(() => rm(p.dir, { recursive: true, force: true }));
          await writeFile(`${p.spec}.tmp`, JSON.stringify(spec, null, 2) + "\n", { mode: 0o600 });
          await rename(`${p.spec}.tmp`, p.spec);
          const st = await startLocked(spec.id);
          r.success();
          return st;
        } finally {
          await r.fail();
        }
      });
    },

    start: (id) => locked(id, () => startLocked(id)),
    stop: (id, opts: StopOptions = {}) =>
      locked(id, async () => {
        await readSpec(pathsOf(id), id, `stopping server "${id}"`);
        return stopLocked(id, opts.timeoutMs ?? 60_000);
      }),
    reboot: (id, kind, opts: RebootOptions = {}) => locked(id, () => rebootLocked(id, kind, opts.timeoutMs ?? 60_000)),

    delete(id) {
      return locked(id, async () => {
        const p = pathsOf(id);
        await stopLocked(id, 0);
        await rm(p.dir, { recursive: true, force: true });
        log.info({ server: id }, "server deleted");
      });
    },

    // Not serialised with the other operations, so status stays responsive during a long stop or
    // soft reboot (QEMU then answers QMP after the operation's connection closes, or statusOf
    // reports "QMP unreachable" with the process still running).
    async status(id) {
      const p = pathsOf(id);
      await readSpec(p, id, "status");
      return statusOf(id, p);
    },

    async consoleLog(id, opts = {}) {
      const p = pathsOf(id);
      await readSpec(p, id, "reading the console log");
      const text = await readFile(p.console, "utf8").catch(() => "");
      return opts.tailBytes !== undefined && text.length > opts.tailBytes ? text.slice(-opts.tailBytes) : text;
    },

    async list() {
      const ids = await readdir(init.stateDir).catch(() => [] as string[]);
      const out: ServerStatus[] = [];
      for (const id of ids.filter((i) => ID_RE.test(i)).sort()) {
        const p = instancePaths(init.stateDir, id);
        if (await stat(p.spec).then(() => true, () => false)) out.push(await statusOf(id, p));
      }
      return out;
    },

    // Volumes: over QMP on the running QEMU (qemu-volumes.ts), serialised with the other operations.
    attachVolume: (id, disk) => locked(id, () => runningQmp(id, `attaching volume "${disk.volumeId}"`, (q) => plugVolume(q, id, disk))),
    detachVolume: (id, volumeId, opts = {}) => locked(id, () => runningQmp(id, `detaching volume "${volumeId}"`, (q) => unplugVolume(q, id, volumeId, opts.timeoutMs ?? 30_000))),
    volumeAttached: (id, volumeId) => runningQmp(id, "query-block", (q) => volumePlugged(q, volumeId)),

    async adopt() {
      const all = await this.list();
      for (const s of all) {
        if (s.state === "stopped") await clearRuntime(instancePaths(init.stateDir, s.id));
        else log.info({ server: s.id, pid: s.pid, state: s.state }, "adopted a running server");
      }
      return all.filter((s) => s.state !== "stopped");
    },
  };
}
