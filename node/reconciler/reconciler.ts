// The reconciler: each node converges the records it owns (server.host == self) against its own
// host, on every record change and on a periodic resync. One pass per server at a time; a change
// during a pass queues one more pass. On start it adopts hypervisors that outlived the previous
// agent and finishes half-done work; orphans (effects of servers deleted or owned elsewhere) are
// collected on each resync.
import type { Cancel } from "../../protocol/clock.ts";
import { asServer, NETWORK, PORT, rootVolumeId, SERVER } from "../../protocol/records.ts";
import { syncNetwork } from "./ports.ts";
import { ServerConverger } from "./server.ts";
import type { ReconcilerComponents, ReconcilerInit } from "./types.ts";

export interface Reconciler {
  start(): Promise<void>;
  /** Stops reacting and waits for passes in flight. */
  stop(): Promise<void>;
  /** Converges every owned server and collects orphans now. */
  resync(): Promise<void>;
  /** Queues a pass over one server; resolves when that server has no pass running or queued. */
  reconcile(serverId: string): Promise<void>;
  /** Resolves when no pass is running or queued. */
  idle(): Promise<void>;
}

interface Slot {
  again: boolean;
  done: Promise<void>;
}

export function reconciler(init: ReconcilerInit = {}): (c: ReconcilerComponents) => Reconciler {
  return (c) => {
    const conv = new ServerConverger(init, c);
    const slots = new Map<string, Slot>();
    const netSyncs = new Set<string>();
    let stopped = true;
    let timer: Cancel | undefined;
    let unsubscribe: (() => void) | undefined;
    let resyncing: Promise<void> | undefined;

    async function pass(id: string): Promise<void> {
      const s = asServer(c.store.get(SERVER, id));
      if (!s) return; // removed: leftovers (if any) go at the next orphan collection
      if (s.host !== c.self) return;
      await conv.converge(s);
    }

    function reconcile(id: string): Promise<void> {
      const slot = slots.get(id);
      if (slot) {
        slot.again = true;
        return slot.done;
      }
      const s: Slot = { again: true, done: Promise.resolve() };
      s.done = (async () => {
        while (s.again && !stopped) {
          s.again = false;
          try {
            await pass(id);
          } catch (err) {
            c.log?.error({ server: id, err: err instanceof Error ? err.message : String(err) }, "reconcile pass failed");
          }
        }
        slots.delete(id);
      })();
      slots.set(id, s);
      return s.done;
    }

    function syncNet(networkId: string): void {
      if (netSyncs.has(networkId) || stopped) return;
      netSyncs.add(networkId);
      syncNetwork(init, c, networkId)
        .catch((err) => c.log?.warn({ network: networkId, err: err instanceof Error ? err.message : String(err) }, "network sync failed"))
        .finally(() => netSyncs.delete(networkId));
    }

    /** Hypervisors, root volumes and taps of servers that are deleted or owned by another node. */
    async function collectOrphans(): Promise<void> {
      const notOurs = (id: string): boolean => {
        const r = c.store.get(SERVER, id);
        if (r) return typeof r.host === "string" && r.host !== "" && r.host !== c.self;
        return c.store.stateOf(SERVER, id)?.deleted !== undefined;
      };
      for (const vm of await c.compute.list()) {
        if (notOurs(vm.id) && !slots.has(vm.id)) {
          c.log?.warn({ server: vm.id }, "removing an orphan hypervisor instance");
          await conv.cleanupLocal(vm.id);
        }
      }
      for (const v of await c.storage.list()) {
        if (v.kind !== "volume" || !v.id.endsWith("-root")) continue;
        const sid = v.id.slice(0, -"-root".length);
        if (rootVolumeId(sid) === v.id && notOurs(sid) && !slots.has(sid)) {
          c.log?.warn({ volume: v.id }, "removing an orphan root volume");
          await c.storage.delete(v.id);
        }
      }
      if (!c.network) return;
      const nets = new Set<string>();
      for (const p of await c.network.listPorts()) {
        const rec = c.store.get(PORT, p.portId);
        const gone = rec ? rec.binding_host_id !== c.self : c.store.stateOf(PORT, p.portId)?.deleted !== undefined;
        if (gone) {
          c.log?.warn({ port: p.portId }, "removing an orphan tap");
          await c.network.deletePort(p.portId);
        } else nets.add(p.networkId);
      }
      for (const n of await c.network.listNetworks()) {
        if (nets.has(n.networkId)) await syncNetwork(init, c, n.networkId);
        else if (!c.store.list(PORT, (p) => p.network_id === n.networkId && p.binding_host_id === c.self).length) {
          await c.network.stopDhcp(n.networkId);
          await c.network.deleteNetwork(n.networkId);
        }
      }
    }

    async function resync(): Promise<void> {
      if (resyncing) return resyncing;
      resyncing = (async () => {
        const owned = c.store.list(SERVER, (r) => r.host === c.self).map((r) => r.id);
        await Promise.all(owned.map((id) => reconcile(id)));
        try {
          await collectOrphans();
        } catch (err) {
          c.log?.warn({ err: err instanceof Error ? err.message : String(err) }, "orphan collection failed");
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

    return {
      async start() {
        stopped = false;
        await c.storage.init();
        const adopted = await c.compute.adopt();
        c.log?.info({ adopted: adopted.map((a) => a.id) }, "reconciler starting");
        unsubscribe = c.store.onChange(({ delta, record, local }) => {
          if (delta.kind === SERVER) {
            if (record?.host === c.self) void reconcile(delta.id);
          } else if (delta.kind === PORT && !local && c.network && record && typeof record.network_id === "string") {
            // another host's binding changed: our flood list follows (our own bindings: at plug time)
            if (c.store.list(PORT, (p) => p.network_id === record.network_id && p.binding_host_id === c.self).length) syncNet(record.network_id);
          } else if (delta.kind === NETWORK) {
            // a network record change (mtu) takes effect at the next boot of its servers
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
      reconcile,
      async idle() {
        while (slots.size || resyncing) await Promise.all([...[...slots.values()].map((s) => s.done), resyncing]);
      },
    };
  };
}
