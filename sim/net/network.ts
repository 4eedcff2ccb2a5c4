// The simulated network: nodes by index, per-message latency (LAN inside an AZ, WAN between AZs),
// loss, duplication, reordering, partitions and crashed nodes. Every message goes through send(), which
// counts it by category and schedules its arrival on the virtual clock.
import type { Random } from "../../protocol/random.ts";
import { NodeClock, type SimScheduler } from "../engine/sim-clock.ts";
import { sampler, type LatencySpec, type Sampler } from "./latency.ts";

export interface LinkFaults {
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message arrives twice. */
  duplicate: number;
  /** Probability that a message is held back by an extra delay (so later ones overtake it). */
  reorder: number;
  /** Extra delay of a reordered message, ms (uniform up to this). */
  reorderMs: number;
}

export const NO_FAULTS: LinkFaults = { loss: 0, duplicate: 0, reorder: 0, reorderMs: 0 };

export interface NetworkInit {
  lan: LatencySpec;
  wan: LatencySpec;
  random: Random;
  sched: SimScheduler;
}

export interface SimNode {
  index: number;
  id: string;
  az: string;
  azIndex: number;
  /** Position among the nodes of its AZ (0, 1, …): a name that is unique within the site. */
  siteSlot: number;
  /** The node's number in the whole scenario (equal to index unless the run is one shard of several). */
  ordinal: number;
  clock: NodeClock;
  up: boolean;
}

export class SimNetwork {
  readonly sched: SimScheduler;
  readonly nodes: SimNode[] = [];
  private readonly byId = new Map<string, number>();
  private readonly azIndex = new Map<string, number>();
  private readonly azSize: number[] = [];
  private readonly lan: Sampler;
  private readonly wan: Sampler;
  private readonly random: Random;
  /** Partition group of each node; nodes talk only within a group. */
  private group: Int32Array = new Int32Array(0);
  faults: LinkFaults = { ...NO_FAULTS };
  /** Messages sent, by category (gossip data, gossip control, direct protocol names). */
  readonly counts = new Map<string, number>();
  totalMessages = 0;

  constructor(init: NetworkInit) {
    this.sched = init.sched;
    this.random = init.random;
    this.lan = sampler(init.lan, init.random.fork("lan"));
    this.wan = sampler(init.wan, init.random.fork("wan"));
  }

  /** Adds a node; a shard of a bigger run passes the node's number and AZ number in the whole scenario. */
  addNode(id: string, az: string, place?: { ordinal: number; azIndex: number }): SimNode {
    let azi = this.azIndex.get(az);
    if (azi === undefined) this.azIndex.set(az, (azi = place?.azIndex ?? this.azIndex.size));
    const siteSlot = this.azSize[azi] ?? 0;
    this.azSize[azi] = siteSlot + 1;
    const node: SimNode = { index: this.nodes.length, id, az, azIndex: azi, siteSlot, ordinal: place?.ordinal ?? this.nodes.length, clock: new NodeClock(this.sched), up: true };
    this.nodes.push(node);
    this.byId.set(id, node.index);
    if (this.group.length < this.nodes.length) {
      const g = new Int32Array(Math.max(16, this.group.length * 2));
      g.set(this.group);
      this.group = g;
    }
    return node;
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  reachable(a: number, b: number): boolean {
    return a !== b && this.nodes[a].up && this.nodes[b].up && this.group[a] === this.group[b];
  }

  /** Splits nodes into groups (by a group number per node); heal() joins them again. */
  partition(groupOf: (node: SimNode) => number): void {
    for (const n of this.nodes) this.group[n.index] = groupOf(n);
  }

  heal(): void {
    this.group.fill(0);
  }

  get partitioned(): boolean {
    for (let i = 1; i < this.nodes.length; i++) if (this.group[i] !== this.group[0]) return true;
    return false;
  }

  latency(a: number, b: number): number {
    return this.nodes[a].azIndex === this.nodes[b].azIndex ? this.lan() : this.wan();
  }

  count(category: string, n = 1): void {
    this.totalMessages += n;
    this.counts.set(category, (this.counts.get(category) ?? 0) + n);
  }

  /**
   * Sends one message from a to b: counted, then lost, duplicated or delayed as the faults say.
   * `deliver` runs at arrival if b is still reachable and has not restarted since the send.
   * Returns the arrival time of the first copy, or -1 if nothing will arrive. A copy that would
   * arrive at or after `moot` (an earlier copy of the same gossip is already on its way) is counted
   * but not scheduled: it would change nothing.
   */
  send(a: number, b: number, category: string, deliver: () => void, moot = Number.POSITIVE_INFINITY): number {
    this.count(category);
    if (!this.reachable(a, b)) return -1;
    const f = this.faults;
    if (f.loss > 0 && this.random.next() < f.loss) return -1;
    const copies = f.duplicate > 0 && this.random.next() < f.duplicate ? 2 : 1;
    const target = this.nodes[b];
    const inc = target.clock.alive;
    let first = -1;
    for (let i = 0; i < copies; i++) {
      let delay = this.latency(a, b);
      if (f.reorder > 0 && this.random.next() < f.reorder) delay += this.random.next() * f.reorderMs;
      const at = this.sched.now() + delay;
      if (first < 0 || at < first) first = at;
      if (at >= moot) continue;
      this.sched.event(at, () => {
        if (target.up && target.clock.alive === inc && this.group[a] === this.group[b]) deliver();
      });
    }
    return first;
  }
}
