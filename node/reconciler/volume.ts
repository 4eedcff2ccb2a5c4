// Converging one Cinder volume (or snapshot) record this host owns (`host == self`) against the storage
// driver and the local hypervisors: creating → available (blank, from an image pulled through the image
// source, or from a snapshot) or error with a fault naming the volume; extending; deleting → removed;
// attachments: the server records' `volumes_attached` say which server wants the volume, the owner
// hot-plugs it into that server's running QEMU (or unplugs it) and writes in-use/available + Cinder's
// `attachments`. Each step is idempotent, so an interrupted pass is finished by the next one.
import { createHash } from "node:crypto";
import { ServerNotFoundError } from "../../drivers/compute/interface.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import { IMAGE, SERVER } from "../../protocol/records.ts";
import type { CatalogRecord } from "../store/crdt-store.ts";
import { bootableFormat } from "./image-format.ts";
import type { ReconcilerComponents } from "./types.ts";

export const VOLUME = "volume";
export const SNAPSHOT = "volume_snapshot";

export type VolumeComponents = Omit<ReconcilerComponents, "network">;

/** A volume's or snapshot's host-side effect failed; the message names the object and the step. */
export class VolumeReconcileError extends PeerstackError {
  constructor(step: string, cause: unknown) {
    super("VOLUME_RECONCILE_FAILED", `${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

type Fields = Record<string, unknown>;
type Wanted = { volumeId?: string; device?: string };

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Cinder's attachment id for (volume, server): stable, UUID-shaped. */
export function attachmentId(volumeId: string, serverId: string): string {
  const h = createHash("sha256").update(`${volumeId}/${serverId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class VolumeConverger {
  private readonly c: VolumeComponents;
  private readonly detachTimeoutMs: number;

  constructor(c: VolumeComponents, opts: { detachTimeoutMs?: number } = {}) {
    this.c = c;
    this.detachTimeoutMs = opts.detachTimeoutMs ?? 30_000;
  }

  private now(): string {
    return new Date(this.c.clock.now()).toISOString().slice(0, 23) + "000";
  }

  /** Writes only the fields that differ (our own writes come back through onChange and converge to no-ops). */
  private async patch(kind: string, id: string, fields: Fields): Promise<void> {
    const cur = this.c.store.get(kind, id);
    if (!cur) return;
    const diff: Fields = {};
    for (const [k, v] of Object.entries(fields)) if (!same(cur[k], v)) diff[k] = v;
    if (Object.keys(diff).length === 0) return;
    await this.c.store.put(kind, id, { ...diff, updated_at: this.now() });
  }

  private async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof VolumeReconcileError ? err : new VolumeReconcileError(what, err);
    }
  }

  private fault(err: unknown): Fields {
    return { fault: { code: 500, message: err instanceof Error ? err.message : String(err), created: this.now() } };
  }

  private async haveVolume(id: string): Promise<boolean> {
    return (await this.c.storage.list()).some((v) => v.kind === "volume" && v.id === id);
  }

  /** The server that wants the volume (its `volumes_attached` names it), unless it is being deleted. */
  private wantedBy(volumeId: string): CatalogRecord | undefined {
    return this.c.store.list(SERVER, (s) => s.desired !== "deleted" && ((s.volumes_attached as Wanted[] | undefined) ?? []).some((x) => x.volumeId === volumeId))[0];
  }

  private async running(serverId: string): Promise<boolean> {
    try {
      const st = await this.c.compute.status(serverId);
      return st.state === "running" || st.state === "paused";
    } catch (err) {
      if (err instanceof ServerNotFoundError) return false;
      throw err;
    }
  }

  /** Makes the volume's data (blank, from its image, or from its snapshot). */
  private async create(v: CatalogRecord): Promise<void> {
    const size = Math.max(1, Math.ceil(Number(v.size) || 1));
    if (typeof v.snapshot_id === "string") {
      await this.step(`creating volume "${v.id}" from snapshot "${v.snapshot_id}"`, () => this.c.storage.cloneFromSnapshot(String(v.snapshot_id), v.id, size));
      return;
    }
    if (typeof v.image_id === "string") {
      const imageId = v.image_id;
      const have = (await this.c.storage.list()).some((x) => x.kind === "image" && x.id === imageId);
      if (!have) {
        const format = await this.step(`creating volume "${v.id}": checking image "${imageId}"`, async () => bootableFormat(this.c.store.get(IMAGE, imageId), imageId));
        const path = await this.step(`creating volume "${v.id}": fetching image "${imageId}"`, () => this.c.images.localPath(imageId));
        await this.step(`creating volume "${v.id}": importing image "${imageId}"`, () => this.c.storage.importImage(imageId, path, { format }));
      }
      await this.step(`creating volume "${v.id}" from image "${imageId}"`, () => this.c.storage.createVolume(v.id, size, { fromImage: imageId }));
      return;
    }
    await this.step(`creating volume "${v.id}"`, () => this.c.storage.createVolume(v.id, size));
  }

  /** One pass over a volume we own. */
  async converge(id: string): Promise<void> {
    const v = this.c.store.get(VOLUME, id);
    if (!v || v.host !== this.c.self) return;
    try {
      if (v.status === "deleting") return await this.teardown(v);
      if (v.status === "creating") {
        await this.create(v);
        await this.patch(VOLUME, id, { status: "available", fault: null });
      } else if (v.status === "extending") {
        await this.step(`extending volume "${id}" to ${String(v.size)} GiB`, () => this.c.storage.resize(id, Number(v.size)));
        await this.patch(VOLUME, id, { status: "available", fault: null });
      } else if (String(v.status).startsWith("error")) {
        return;
      }
      await this.attachments(id);
    } catch (err) {
      const cur = this.c.store.get(VOLUME, id);
      if (!cur || cur.status === "deleting") return;
      this.c.log?.error({ volume: id, err: err instanceof Error ? err.message : String(err) }, "volume failed");
      const status = cur.status === "creating" ? "error" : cur.status === "extending" ? "error_extending" : cur.status;
      await this.patch(VOLUME, id, { status, ...this.fault(err) });
    }
  }

  /** Plugs the volume into the server that wants it (when its QEMU runs here), unplugs it elsewhere. */
  private async attachments(id: string): Promise<void> {
    const v = this.c.store.get(VOLUME, id);
    if (!v) return;
    const want = this.wantedBy(id);
    const recorded = ((v.attachments as { server_id?: string }[] | undefined) ?? []).map((a) => String(a.server_id));
    for (const sid of recorded) {
      if (sid === want?.id) continue;
      const srv = this.c.store.get(SERVER, sid);
      if (srv && srv.host !== this.c.self) continue;
      if (this.c.compute.detachVolume && (await this.running(sid))) {
        await this.step(`detaching volume "${id}" from server "${sid}"`, () => this.c.compute.detachVolume!(sid, id, { timeoutMs: this.detachTimeoutMs }));
      }
    }
    if (!want) {
      if (["in-use", "attaching", "detaching", "available"].includes(String(v.status))) await this.patch(VOLUME, id, { status: "available", attachments: [] });
      return;
    }
    if (want.host !== this.c.self) {
      throw new VolumeReconcileError(`attaching volume "${id}" to server "${want.id}"`, new Error(`the server runs on host ${String(want.host)}, the volume is on this host (${this.c.self})`));
    }
    if (!(await this.haveVolume(id))) {
      // a pristine volume re-homed to the server's host at attach time: make it here first
      if (v.pristine === false) throw new VolumeReconcileError(`attaching volume "${id}"`, new Error(`its data is not on this host (${this.c.self})`));
      await this.create(v);
    }
    if (await this.running(want.id)) {
      if (!this.c.compute.attachVolume) throw new VolumeReconcileError(`attaching volume "${id}" to server "${want.id}"`, new Error(`the ${this.c.compute.name} compute driver cannot hot-plug volumes`));
      await this.step(`attaching volume "${id}" to server "${want.id}"`, async () => {
        if (await this.c.compute.volumeAttached?.(want.id, id)) return;
        await this.c.compute.attachVolume!(want.id, { volumeId: id, path: this.c.storage.path(id), format: this.c.storage.format });
      });
    }
    const entry = ((want.volumes_attached as Wanted[] | undefined) ?? []).find((x) => x.volumeId === id);
    const prev = ((v.attachments as { server_id?: string; attached_at?: string }[] | undefined) ?? []).find((a) => a.server_id === want.id);
    const attachment = {
      id,
      attachment_id: attachmentId(id, want.id),
      volume_id: id,
      server_id: want.id,
      host_name: this.c.self,
      device: entry?.device ?? null,
      attached_at: prev?.attached_at ?? this.now(),
    };
    await this.patch(VOLUME, id, { status: "in-use", attachments: [attachment], pristine: false, fault: null });
  }

  /** Its snapshots marked deleting, any plug, the data, then the record. */
  private async teardown(v: CatalogRecord): Promise<void> {
    try {
      for (const s of this.c.store.list(SNAPSHOT, (x) => x.volume_id === v.id && x.status === "deleting")) await this.convergeSnapshot(s.id);
      for (const a of (v.attachments as { server_id?: string }[] | undefined) ?? []) {
        const sid = String(a.server_id);
        if (this.c.compute.detachVolume && (await this.running(sid))) await this.step(`detaching volume "${v.id}" from server "${sid}"`, () => this.c.compute.detachVolume!(sid, v.id, { timeoutMs: this.detachTimeoutMs }));
      }
      await this.step(`deleting volume "${v.id}"`, () => this.c.storage.delete(v.id));
      await this.c.store.remove(VOLUME, v.id);
      this.c.log?.info({ volume: v.id }, "volume deleted");
    } catch (err) {
      this.c.log?.error({ volume: v.id, err: err instanceof Error ? err.message : String(err) }, "deleting volume failed; retried at the next resync");
      await this.patch(VOLUME, v.id, this.fault(err));
    }
  }

  /** One pass over a snapshot we own: creating → available | error; deleting → removed | error_deleting. */
  async convergeSnapshot(id: string): Promise<void> {
    const s = this.c.store.get(SNAPSHOT, id);
    if (!s || s.host !== this.c.self) return;
    if (s.status === "creating") {
      try {
        await this.step(`creating snapshot "${id}" of volume "${String(s.volume_id)}"`, () => this.c.storage.snapshot(String(s.volume_id), id));
        await this.patch(SNAPSHOT, id, { status: "available", fault: null });
      } catch (err) {
        this.c.log?.error({ snapshot: id, err: err instanceof Error ? err.message : String(err) }, "snapshot failed");
        await this.patch(SNAPSHOT, id, { status: "error", ...this.fault(err) });
      }
    } else if (s.status === "deleting") {
      try {
        await this.step(`deleting snapshot "${id}"`, () => this.c.storage.deleteSnapshot(id));
        await this.c.store.remove(SNAPSHOT, id);
        this.c.log?.info({ snapshot: id }, "snapshot deleted");
      } catch (err) {
        this.c.log?.error({ snapshot: id, err: err instanceof Error ? err.message : String(err) }, "deleting snapshot failed");
        await this.patch(SNAPSHOT, id, { status: "error_deleting", ...this.fault(err) });
      }
    }
  }
}
