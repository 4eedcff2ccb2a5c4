// A few IPAM nodes over real CRDT stores (MemoryKv) and the in-memory transport, for tests: stores
// exchange deltas only when the test says so (merge), so replication lag is under the test's control.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import { MemoryNetwork } from "../mesh/memory-transport.ts";
import { openCrdtStore, type CrdtStore, type RecordDelta } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { Ipam, type IpamSubnet } from "./ipam.ts";

/** A clock whose timers fire on the next macrotask turn (the I/O of these tests is in memory). */
export function turnClock(base: Clock, skewMs = 0, defer: (fn: () => void) => void): Clock {
  return {
    now: () => base.now() + skewMs,
    schedule(delayMs: number, fn: () => void): Cancel {
      let live = true;
      if (delayMs > 1000) return () => {}; // request timeouts: unreachable peers answer at once below
      defer(() => {
        if (live) fn();
      });
      return () => {
        live = false;
      };
    },
    sleep: (ms, signal) => base.sleep(ms, signal),
  };
}

export interface IpamNode {
  id: string;
  store: CrdtStore;
  ipam: Ipam;
  /** Deltas this node wrote, in order (its outbox). */
  outbox: RecordDelta[];
}

export interface IpamCluster {
  net: MemoryNetwork;
  nodes: IpamNode[];
  /** Applies `deltas` of `from` (all of its outbox by default) to `to`. */
  merge(from: IpamNode, to: IpamNode, deltas?: RecordDelta[]): Promise<void>;
  /** Every node gets every other's outbox. */
  mergeAll(): Promise<void>;
  close(): Promise<void>;
}

export async function ipamCluster(n: number, clocks: Clock[], netClock: Clock): Promise<IpamCluster> {
  const net = new MemoryNetwork({ clock: netClock });
  const nodes: IpamNode[] = [];
  const kvs: MemoryKv[] = [];
  for (let i = 0; i < n; i++) {
    const id = `node-${i}`;
    const kv = new MemoryKv();
    kvs.push(kv);
    const store = await openCrdtStore({ node: id, maxDriftMs: 60_000 }, { clock: clocks[i], kv });
    const outbox: RecordDelta[] = [];
    store.onChange((c) => {
      if (c.local) outbox.push(c.delta);
    });
    const ipam = new Ipam({ store, node: id, transport: net.join(id), requestTimeoutMs: 5000 });
    ipam.start();
    nodes.push({ id, store, ipam, outbox });
  }
  const merge = async (from: IpamNode, to: IpamNode, deltas = from.outbox) => {
    if (from !== to && deltas.length > 0) await to.store.applyRemote([...deltas]);
  };
  return {
    net,
    nodes,
    merge,
    async mergeAll() {
      for (const a of nodes) for (const b of nodes) await merge(a, b);
    },
    async close() {
      for (const x of nodes) await x.store.stop();
      for (const kv of kvs) await kv.close();
    },
  };
}

/** Writes a subnet record on its home node (other nodes learn it by merge). */
export async function putSubnet(home: IpamNode, s: Omit<IpamSubnet, "ipam_home">): Promise<IpamSubnet> {
  const subnet: IpamSubnet = { ...s, ipam_home: home.id };
  const { id, ...fields } = subnet;
  await home.store.put("subnet", id, fields);
  return subnet;
}
