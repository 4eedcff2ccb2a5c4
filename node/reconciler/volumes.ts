// The volume reconciler: converges the Cinder volume and snapshot records this node owns (host == self)
// on every change of them or of a local server (its `volumes_attached`, its QEMU coming up), and at a
// periodic resync, which also removes orphans (volume/snapshot data of records deleted or re-homed
// elsewhere). One pass per record at a time; a change during a pass queues one more. Runs beside the
// server reconciler with the same drivers; root volumes ("<server>-root") are that one's business.
import type { Cancel } from "../../protocol/clock.ts";
import { SERVER } from "../../protocol/records.ts";
import { SNAPSHOT, VOLUME, VolumeConverger, type VolumeComponents } from "./volume.ts";

export interface VolumeReconcilerInit {
  /** Every this often every owned record is converged again and orphans collected. Default 10 s. */
  resyncMs?: number;
  /** How long the guest gets to release a disk on detach. Default 30 s. */
  detachTimeoutMs?: number;
}

export interface VolumeReconciler {
  start(): Promise<void>;
  stop(): Promise<void>;
  resync(): Promise<void>;
  /** Resolves when no pass is running or queued. */
  idle(): Promise<void>;
}

interface Slot {
  again: boolean;
  done: Promise<void>;
}

export function volumeReconciler(init: VolumeReconcilerInit = {}): (c: VolumeComponents) => VolumeReconciler {
  return (c) => {
    const conv = new VolumeConverger(c, init.detachTimeoutMs === undefined ? {} : { detachTimeoutMs: init.detachTimeoutMs });
    const slots = new Map<string, Slot>();
    let stopped = true;
    let timer: Cancel | undefined;
    let unsubscribe: (() => void) | undefined;
    let resyncing: Promise<void> | undefined;

    function queue(key: string): Promise<void> {
      const slot = slots.get(key);
      if (slot) {
        slot.again = true;
        return slot.done;
      }
      const s: Slot = { again: true, done: Promise.resolve() };
      s.done = (async () => {
        while (s.again && !stopped) {
          s.again = false;
          try {
            const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
            if (kind === "v") await conv.converge(id);
            else await conv.convergeSnapshot(id);
          } catch (err) {
            c.log?.error({ key, err: err instanceof Error ? err.message : String(err) }, "volume pass failed");
          }
        }
        slots.delete(key);
      })();
      slots.set(key, s);
      return s.done;
    }

    const owned = (kind: string) => c.store.list(kind, (r) => r.host === c.self).map((r) => r.id);

    /** Data of volumes/snapshots whose record is tombstoned or now owned by another node. */
    async function collectOrphans(): Promise<void> {
      for (const item of await c.storage.list()) {
        const kind = item.kind === "volume" ? VOLUME : item.kind === "snapshot" ? SNAPSHOT : undefined;
        if (!kind || (kind === VOLUME && item.id.endsWith("-root"))) continue;
        const r = c.store.get(kind, item.id);
        const gone = r ? typeof r.host === "string" && r.host !== c.self : c.store.stateOf(kind, item.id)?.deleted !== undefined;
        if (!gone || slots.has(`${kind === VOLUME ? "v" : "s"}:${item.id}`)) continue;
        c.log?.warn({ [kind]: item.id }, "removing orphan volume data");
        if (kind === VOLUME) await c.storage.delete(item.id);
        else await c.storage.deleteSnapshot(item.id);
      }
    }

    async function resync(): Promise<void> {
      if (resyncing) return resyncing;
      resyncing = (async () => {
        await Promise.all([...owned(SNAPSHOT).map((id) => queue(`s:${id}`)), ...owned(VOLUME).map((id) => queue(`v:${id}`))]);
        try {
          await collectOrphans();
        } catch (err) {
          c.log?.warn({ err: err instanceof Error ? err.message : String(err) }, "volume orphan collection failed");
        }
      })().finally(() => (resyncing = undefined));
      return resyncing;
    }

    function scheduleResync(): void {
      if (stopped) return;
      timer = c.clock.schedule(init.resyncMs ?? 10_000, () => {
        void resync().finally(scheduleResync);
      });
    }

    /** Volumes a server change may concern: those it wants and those recorded attached to it. */
    function volumesOfServer(serverId: string, record: Record<string, unknown> | undefined): string[] {
      const ids = new Set<string>(((record?.volumes_attached as { volumeId?: string }[] | undefined) ?? []).map((x) => String(x.volumeId)));
      for (const v of c.store.list(VOLUME, (r) => r.host === c.self && ((r.attachments as { server_id?: string }[] | undefined) ?? []).some((a) => a.server_id === serverId))) ids.add(v.id);
      return [...ids].filter((id) => c.store.get(VOLUME, id)?.host === c.self);
    }

    return {
      async start() {
        stopped = false;
        unsubscribe = c.store.onChange(({ delta, record }) => {
          if (delta.kind === VOLUME && record?.host === c.self) void queue(`v:${delta.id}`);
          else if (delta.kind === SNAPSHOT && record?.host === c.self) {
            void queue(`s:${delta.id}`);
            const vol = c.store.get(VOLUME, String(record.volume_id));
            if (vol?.status === "deleting") void queue(`v:${vol.id}`);
          } else if (delta.kind === SERVER) {
            for (const id of volumesOfServer(delta.id, record)) void queue(`v:${id}`);
          }
        });
        await resync();
        scheduleResync();
      },
      async stop() {
        stopped = true;
        timer?.();
        unsubscribe?.();
        await Promise.all([...slots.values()].map((s) => s.done));
        await resyncing;
      },
      resync,
      async idle() {
        while (slots.size || resyncing) await Promise.all([...[...slots.values()].map((s) => s.done), resyncing]);
      },
    };
  };
}
