// Converging one server record this host owns against the host: volume, ports, hypervisor, and
// the owner-written status fields. Each step is idempotent, so a converge interrupted anywhere
// (agent crash, kill -9) is finished by the next one.
import { ServerNotFoundError, type ServerSpec, type ServerStatus } from "../../drivers/compute/interface.ts";
import { IMAGE, POWER, SERVER, SERVER_STATES, rootVolumeId, type ServerRecord } from "../../protocol/records.ts";
import { bootableFormat } from "./image-format.ts";
import { plugPorts, unplugPorts } from "./ports.ts";
import { configDriveData, wantsConfigDrive } from "./config-drive.ts";
import { ReconcileError, type ReconcilerComponents, type ReconcilerInit } from "./types.ts";

type Fields = Record<string, unknown>;

const same = (k: string, a: unknown, b: unknown): boolean => {
  if (k === "fault" && a && b && typeof a === "object" && typeof b === "object") {
    const x = a as { code?: unknown; message?: unknown };
    const y = b as { code?: unknown; message?: unknown };
    return x.code === y.code && x.message === y.message;
  }
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
};

export class ServerConverger {
  private readonly init: ReconcilerInit;
  private readonly c: ReconcilerComponents;

  constructor(init: ReconcilerInit, c: ReconcilerComponents) {
    this.init = init;
    this.c = c;
  }

  /** Writes only the fields that differ (our own writes come back through onChange: no loops). */
  private async patch(id: string, fields: Fields): Promise<void> {
    const cur = this.c.store.get(SERVER, id);
    if (!cur) return;
    const diff: Fields = {};
    for (const [k, v] of Object.entries(fields)) if (!same(k, cur[k], v)) diff[k] = v;
    if (Object.keys(diff).length === 0) return;
    diff.updated_at = new Date(this.c.clock.now()).toISOString();
    await this.c.store.put(SERVER, id, diff);
  }

  private async status(id: string): Promise<ServerStatus | undefined> {
    try {
      return await this.c.compute.status(id);
    } catch (err) {
      if (err instanceof ServerNotFoundError) return undefined;
      throw err;
    }
  }

  private async step<T>(s: ServerRecord, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof ReconcileError ? err : new ReconcileError(s.id, what, err);
    }
  }

  /** One pass over a server we own. Failures end in ERROR with a fault naming the step. */
  async converge(s: ServerRecord): Promise<void> {
    if (s.desired === "deleted") return this.teardown(s);
    const st = await this.status(s.id);
    const running = st?.state === "running" || st?.state === "paused";
    const rebootPending = (s.reboot_seq ?? 0) > (s.reboot_done ?? 0);
    // ERROR stays ERROR (as in Nova) until deleted or hard-rebooted.
    if (s.status === "ERROR" && !(rebootPending && s.reboot_type === "HARD")) return;
    try {
      if (s.desired === "stopped") {
        if (rebootPending) await this.patch(s.id, { reboot_done: s.reboot_seq });
        if (running) {
          await this.patch(s.id, SERVER_STATES.stopping());
          await this.step(s, "stopping", () => this.c.compute.stop(s.id, { timeoutMs: this.init.stopTimeoutMs ?? 60_000 }));
          await this.patch(s.id, { ...SERVER_STATES.shutoff(), fault: null });
        } else if (st) {
          await this.patch(s.id, SERVER_STATES.shutoff());
        } else if (s.status === "BUILD") {
          // Stopped before it was ever built: build it (disk, ports), then stop on the next pass.
          await this.boot(s, st);
          return this.converge({ ...s, status: "ACTIVE" });
        }
        return;
      }
      // desired active
      if (rebootPending) {
        if (!running) await this.boot(s, st);
        else {
          const kind = s.reboot_type === "HARD" ? "hard" : "soft";
          await this.patch(s.id, SERVER_STATES.rebooting(s.reboot_type ?? "SOFT"));
          await this.step(s, `rebooting (${kind})`, () => this.c.compute.reboot(s.id, kind, { timeoutMs: this.init.rebootTimeoutMs ?? 60_000 }));
        }
        await this.patch(s.id, { ...SERVER_STATES.active(), reboot_done: s.reboot_seq, fault: null });
        return;
      }
      if (running) {
        await this.patch(s.id, { ...SERVER_STATES.active(), ...(s.status === "BUILD" ? { launched_at: new Date(this.c.clock.now()).toISOString() } : {}) });
        return;
      }
      const wasUp = s.status === "ACTIVE" || s.status === "REBOOT" || s.status === "HARD_REBOOT";
      if (st && wasUp && s.task_state === null) {
        // The guest powered itself off (or its QEMU died): SHUTOFF, and the user's wish follows (Nova's power sync).
        this.c.log?.info({ server: s.id, state: st.state }, "guest is off without being asked; marking it SHUTOFF");
        // One write: a reader never sees SHUTOFF with the old wish (the start it implies would race).
        await this.patch(s.id, { ...SERVER_STATES.shutoff(), desired: "stopped" });
        return;
      }
      await this.boot(s, st);
    } catch (err) {
      const current = this.c.store.get(SERVER, s.id);
      if (!current || current.desired === "deleted") return;
      const message = err instanceof Error ? err.message : String(err);
      this.c.log?.error({ server: s.id, err: message }, "server failed");
      const after = await this.status(s.id).catch(() => undefined);
      const power = after?.state === "running" ? POWER.RUNNING : after ? POWER.SHUTDOWN : POWER.NOSTATE;
      await this.patch(s.id, { ...SERVER_STATES.error(power), fault: { code: 500, message, created: new Date(this.c.clock.now()).toISOString() } });
    }
  }

  /** Disk, ports, hypervisor; BUILD → ACTIVE (or SHUTOFF → ACTIVE on start). */
  private async boot(s: ServerRecord, st: ServerStatus | undefined): Promise<void> {
    const building = s.status === "BUILD" || s.status === "ERROR" || !st;
    const mark = (task: string) => this.patch(s.id, building && s.status !== "ERROR" ? SERVER_STATES.building(task) : SERVER_STATES.starting());
    await mark("block_device_mapping");
    const vol = await this.ensureVolume(s);
    await mark("networking");
    const plugged = await this.step(s, "plugging ports", () => plugPorts(this.init, this.c, s));
    await mark("spawning");
    const kernel = await this.step(s, `locating the kernel of image "${s.image_id}"`, async () => this.c.images.kernel?.(s.image_id));
    const md = s.metadata ?? {};
    const extra: Record<string, string> = { instance_id: s.id };
    if (md.user_data) extra.user_data = md.user_data;
    const hostname = md.hostname ?? (s.name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || `server-${s.id.slice(0, 8)}`);
    const withDrive = wantsConfigDrive(s, this.init.configDrive ?? true);
    const az = String(this.c.store.get("node", this.c.self)?.az ?? "nova");
    const spec: ServerSpec = {
      id: s.id,
      name: s.name,
      vcpus: s.flavor.vcpus,
      memoryMb: s.flavor.ram,
      disks: [{ path: vol, format: this.c.storage.format }],
      nics: plugged.nics,
      metadata: {
        hostname,
        ...(plugged.ip ? { ip: plugged.ip } : {}),
        ...(plugged.gateway ? { gateway: plugged.gateway } : {}),
        ...(plugged.mtu ? { mtu: plugged.mtu } : {}),
        ...(md.ssh_keys?.length ? { sshKeys: md.ssh_keys } : {}),
        extra,
      },
      ...(withDrive ? { configDrive: configDriveData(s, hostname, plugged, az) } : {}),
      ...(kernel ? { kernel } : {}),
      ...(this.init.netns ? { netns: this.init.netns } : {}),
    };
    const after = await this.step(s, "spawning the hypervisor", () => this.c.compute.create(spec));
    if (after.state !== "running") throw new ReconcileError(s.id, "spawning the hypervisor", new Error(`hypervisor state is ${after.state}, not running`));
    // config_drive: what this boot attached (the API shows Nova's "True" / "").
    await this.patch(s.id, { ...SERVER_STATES.active(), fault: null, config_drive: withDrive, ...(s.status === "BUILD" ? { launched_at: new Date(this.c.clock.now()).toISOString() } : {}) });
  }

  private async ensureVolume(s: ServerRecord): Promise<string> {
    const volId = rootVolumeId(s.id);
    if (!s.image_id) throw new ReconcileError(s.id, `creating root volume "${volId}"`, new Error("the server has no image"));
    const have = (await this.c.storage.list()).some((v) => v.kind === "image" && v.id === s.image_id);
    if (!have) {
      const format = await this.step(s, `checking image "${s.image_id}"`, async () => bootableFormat(this.c.store.get(IMAGE, s.image_id!), s.image_id!));
      const path = await this.step(s, `fetching image "${s.image_id}"`, () => this.c.images.localPath(s.image_id));
      await this.step(s, `importing image "${s.image_id}"`, () => this.c.storage.importImage(s.image_id, path, { format }));
    }
    const info = await this.step(s, `creating root volume "${volId}" from image "${s.image_id}"`, () => this.c.storage.createVolume(volId, Math.max(1, Math.ceil(s.flavor.disk)), { fromImage: s.image_id }));
    return info.path;
  }

  /** Hypervisor, disk, taps, then the record itself. */
  async teardown(s: ServerRecord): Promise<void> {
    try {
      await this.patch(s.id, SERVER_STATES.deleting());
      await this.step(s, "deleting the hypervisor instance", () => this.c.compute.delete(s.id));
      await this.step(s, `deleting root volume "${rootVolumeId(s.id)}"`, () => this.c.storage.delete(rootVolumeId(s.id)));
      await this.step(s, "unplugging ports", () => unplugPorts(this.c, s));
      await this.c.store.remove(SERVER, s.id);
      this.c.log?.info({ server: s.id }, "server deleted");
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.c.log?.error({ server: s.id, err: message }, "deleting server failed; retried at the next resync");
      await this.patch(s.id, { fault: { code: 500, message, created: new Date(this.c.clock.now()).toISOString() } });
    }
  }

  /** Effects of a server that is no longer ours (deleted elsewhere, or placed on another host). */
  async cleanupLocal(serverId: string): Promise<void> {
    await this.c.compute.delete(serverId);
    await this.c.storage.delete(rootVolumeId(serverId));
  }
}
