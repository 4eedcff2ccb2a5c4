// Records of a removed node (`peerstack node remove <id>`, only once the mesh agrees it is dead): the
// node that removes it adopts its servers, volumes and snapshots. They go to ERROR / error with a fault
// naming the lost host (their disks and VMs went with it), and the adopter does what their owner would
// have done at the end: removes them once deleted through the API and — through node/quota/owner-release.ts,
// which counts `adopted_by` as ownership — returns their quota, once. Without an heir a deleted server of
// a dead host would hold its quota for ever, and a port the user had given it would stay "in use".
import { PORT } from "../protocol/records.ts";
import type { CatalogRecord, StoreChange } from "./store/crdt-store.ts";

export const ADOPTABLE = ["server", "volume", "volume_snapshot"] as const;

/** The node that ends a record's life: its adopter when its host was removed, else its host. */
export function ownerOf(r: CatalogRecord): unknown {
  return typeof r.adopted_by === "string" && r.adopted_by ? r.adopted_by : r.host;
}

export interface OrphansComponents {
  self: string;
  store: {
    list(kind: string, filter?: (r: CatalogRecord) => boolean): CatalogRecord[];
    get(kind: string, id: string): CatalogRecord | undefined;
    put(kind: string, id: string, fields: Record<string, unknown>): Promise<unknown>;
    remove(kind: string, id: string): Promise<unknown>;
    onChange(fn: (change: StoreChange) => void): () => void;
  };
  now(): string;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface Orphans {
  /** Adopts every record whose host is `removed`; returns how many. */
  adopt(removed: string): Promise<number>;
  /** Removes adopted records deleted through the API (also run at start for those deleted while down). */
  sweep(): Promise<number>;
  stop(): void;
}

const deleted = (kind: string, r: CatalogRecord) => (kind === "server" ? r.desired === "deleted" : r.status === "deleting");

export function orphans(c: OrphansComponents): Orphans {
  const removing = new Set<string>();
  const end = async (kind: string, r: CatalogRecord): Promise<boolean> => {
    const key = `${kind}/${r.id}`;
    if (removing.has(key) || r.adopted_by !== c.self || !deleted(kind, r)) return false;
    removing.add(key);
    try {
      await c.store.remove(kind, r.id);
      if (kind === "server") await unbindPorts(r);
      c.log?.info({ kind, id: r.id, host: r.host }, "removed a deleted record of a removed host");
      return true;
    } catch (err) {
      c.log?.warn({ kind, id: r.id, err: String(err) }, "removing a deleted record of a removed host failed");
      return false;
    } finally {
      removing.delete(key);
    }
  };
  // What the dead host's reconciler would have done on delete (node/reconciler/ports.ts unplugPorts):
  // free the ports the user attached. Ports the API made for the server go with it (api-gateway).
  const unbindPorts = async (server: CatalogRecord): Promise<void> => {
    for (const p of c.store.list(PORT, (x) => x.device_id === server.id && x.server_auto_delete !== true)) {
      await c.store.put(PORT, p.id, { binding_host_id: "", binding_vtep: "", device_id: "", device_owner: "", status: "DOWN" });
    }
  };
  const off = c.store.onChange(({ delta, record }) => {
    if (record && (ADOPTABLE as readonly string[]).includes(delta.kind)) void end(delta.kind, record);
  });
  return {
    async adopt(removed) {
      let n = 0;
      for (const kind of ADOPTABLE) {
        for (const r of c.store.list(kind, (x) => x.host === removed && !x.adopted_by)) {
          const fault = { code: 500, message: `host ${removed} was removed from the cluster; this ${kind === "server" ? "server" : "volume"} was lost with it`, created: c.now() };
          await c.store.put(kind, r.id, kind === "server" ? { adopted_by: c.self, status: "ERROR", task_state: null, fault } : { adopted_by: c.self, status: deleted(kind, r) ? "deleting" : "error", fault });
          n++;
          const now = c.store.get(kind, r.id);
          if (now) await end(kind, now); // already being deleted: end it now
        }
      }
      if (n) c.log?.info({ removed, adopted: n }, "adopted the records of a removed host");
      return n;
    },
    async sweep() {
      let n = 0;
      for (const kind of ADOPTABLE) for (const r of c.store.list(kind, (x) => x.adopted_by === c.self)) if (await end(kind, r)) n++;
      return n;
    },
    stop: off,
  };
}
