// A cheap model of gossipsub, so that 10,000 peers fit in one process. Per topic, subscribers form a
// mesh of degree about D=6 (each newcomer grafts D/2 random members; edges are two-way). A publish is
// flooded along mesh edges (eager push), each node forwarding once on first receipt and counting the
// duplicates it receives. Every heartbeat (1 s) lazy gossip repairs what loss, partitions or crashed
// mesh neighbours cost: a node lacking a recent message (mcache: 3 heartbeats) hears IHAVE from up to
// D_lazy=6 random members; if one of them holds it and is reachable, IWANT + the message follow.
// Heartbeats run on whole seconds, and only while some recent message had gaps: for a flood that
// reached everyone a heartbeat has nothing to repair, so an idle or healthy topic costs no events (and
// such a message is not kept in the mcache at all).
import type { Random } from "../../protocol/random.ts";
import type { GossipMessage } from "../../node/mesh/transport.ts";
import type { SimNetwork } from "./network.ts";

export const MESH_D = 6;
export const D_LAZY = 6;
export const HEARTBEAT_MS = 1000;
export const MCACHE_HEARTBEATS = 3;

type Handler = (msg: GossipMessage) => void;

interface Topic {
  name: string;
  /** Message category for counting: one per topic family, not per AZ. */
  category: string;
  members: number[];
  isMember: Set<number>;
  neighbors: Map<number, number[]>;
  /** mcache, as far as lazy gossip needs it: the recent messages whose flood had gaps, in publish order. */
  recent: Message[];
  heartbeatArmed: boolean;
  /** Handlers by node index: a receipt finds its node's handlers with one array read. */
  handlers: (Set<Handler> | undefined)[];
}

interface Message {
  topic: Topic;
  /** Publish order (within the router). */
  n: number;
  from: number;
  data: Uint8Array;
  publishedAt: number;
  /** Nodes that have it (the origin included). */
  have: Set<number>;
  /** Earliest arrival already scheduled per node, to avoid scheduling later copies as events. */
  due: Map<number, number>;
  /** Some forward was lost or could not be sent: lazy gossip must look for nodes that lack it. */
  gaps: boolean;
}

export class GossipRouter {
  private readonly net: SimNetwork;
  private readonly random: Random;
  private readonly topics = new Map<string, Topic>();
  private published = 0;
  /** Called with (node, publishedAt) when a message first reaches a node (propagation figures). */
  onFirstReceipt: ((topic: string, node: number, publishedAt: number, origin: number) => void) | undefined;

  constructor(net: SimNetwork, random: Random) {
    this.net = net;
    this.random = random;
  }

  subscribe(node: number, topic: string, fn: Handler): () => void {
    const t = this.topic(topic);
    if (!t.isMember.has(node)) this.graft(t, node);
    let set = t.handlers[node];
    if (!set) t.handlers[node] = set = new Set();
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Drops every handler of a node (its process died); its mesh edges stay for when it returns. */
  dropHandlers(node: number): void {
    for (const t of this.topics.values()) if (t.handlers[node]) t.handlers[node] = undefined;
  }

  publish(node: number, topic: string, data: Uint8Array): void {
    const t = this.topic(topic);
    const msg: Message = { topic: t, n: this.published++, from: node, data, publishedAt: this.net.sched.now(), have: new Set([node]), due: new Map(), gaps: false };
    // mcache: messages older than its window are no longer offered by lazy gossip
    const now = msg.publishedAt;
    if (t.recent.length > 0 && now - t.recent[0].publishedAt > MCACHE_HEARTBEATS * HEARTBEAT_MS) t.recent = t.recent.filter((m) => now - m.publishedAt <= MCACHE_HEARTBEATS * HEARTBEAT_MS);
    this.forward(msg, node, -1);
  }

  /** Mesh neighbours of a node on a topic (tests, figures). */
  meshOf(topic: string, node: number): readonly number[] {
    return this.topics.get(topic)?.neighbors.get(node) ?? [];
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) this.topics.set(name, (t = { name, category: categoryOf(name), members: [], isMember: new Set(), neighbors: new Map(), recent: [], heartbeatArmed: false, handlers: [] }));
    return t;
  }

  private graft(t: Topic, node: number): void {
    const mine: number[] = [];
    t.neighbors.set(node, mine);
    const want = Math.min(MESH_D / 2, t.members.length);
    const picked = new Set<number>();
    while (picked.size < want) picked.add(t.members[this.random.int(t.members.length)]);
    for (const p of picked) {
      mine.push(p);
      t.neighbors.get(p)?.push(node);
    }
    t.members.push(node);
    t.isMember.add(node);
  }

  private forward(msg: Message, at: number, except: number): void {
    for (const nb of msg.topic.neighbors.get(at) ?? []) {
      if (nb === except) continue;
      if (msg.have.has(nb)) {
        this.net.count(msg.topic.category); // a duplicate on the wire, dropped by the seen-cache
        continue;
      }
      this.sendCopy(msg, at, nb, msg.topic.category);
    }
  }

  private sendCopy(msg: Message, from: number, to: number, category: string): void {
    const due = msg.due.get(to);
    const arrives = this.net.send(from, to, category, () => this.receive(msg, to, from), due);
    if (arrives < 0) {
      if (!msg.gaps) this.noteGaps(msg);
      return;
    }
    if (due === undefined || arrives < due) msg.due.set(to, arrives);
  }

  private receive(msg: Message, node: number, from: number): void {
    if (msg.have.has(node)) return;
    msg.have.add(node);
    this.onFirstReceipt?.(msg.topic.name, node, msg.publishedAt, msg.from);
    const handlers = msg.topic.handlers[node];
    if (handlers) {
      const gm: GossipMessage = { from: this.net.nodes[msg.from].id, data: msg.data };
      for (const fn of handlers) fn(gm);
    }
    this.forward(msg, node, from);
  }

  /**
   * A flood with a gap joins the topic's mcache for lazy gossip. Only those: a message that reached
   * every member would be skipped by every heartbeat, and keeping it until the topic's next publish (a
   * site's adverts are ~35 s apart at 10,000 nodes) only made it, its bytes and its decoded advert
   * survive into the old generation.
   */
  private noteGaps(msg: Message): void {
    msg.gaps = true;
    const recent = msg.topic.recent;
    let i = recent.length;
    while (i > 0 && recent[i - 1].n > msg.n) i--;
    recent.splice(i, 0, msg);
    this.armHeartbeat(msg.topic);
  }

  private armHeartbeat(t: Topic): void {
    if (t.heartbeatArmed) return;
    t.heartbeatArmed = true;
    const now = this.net.sched.now();
    this.net.sched.at((Math.floor(now / HEARTBEAT_MS) + 1) * HEARTBEAT_MS, () => {
      t.heartbeatArmed = false;
      this.heartbeat(t);
    });
  }

  private heartbeat(t: Topic): void {
    const now = this.net.sched.now();
    t.recent = t.recent.filter((m) => now - m.publishedAt <= MCACHE_HEARTBEATS * HEARTBEAT_MS);
    for (const msg of t.recent) {
      if (!msg.gaps) continue; // every forward went out: all reachable members get it eagerly
      for (const node of t.members) {
        if (msg.have.has(node) || !this.net.nodes[node].up) continue;
        const due = msg.due.get(node);
        if (due !== undefined && due > now) continue;
        for (let i = 0; i < D_LAZY; i++) {
          const peer = t.members[this.random.int(t.members.length)];
          if (peer === node || !msg.have.has(peer) || !this.net.reachable(peer, node)) continue;
          // IHAVE from peer, IWANT back, then the message.
          this.net.count("gossip control", 2);
          this.sendCopy(msg, peer, node, msg.topic.category);
          break;
        }
      }
    }
    if (t.recent.some((m) => m.gaps)) this.armHeartbeat(t);
  }
}

/** "/peerstack/catalog/1" → "gossip catalog"; "peerstack/capacity/az3/1" → "gossip capacity". */
function categoryOf(topic: string): string {
  return `gossip ${topic.replace(/^\//, "").split("/")[1] ?? topic}`;
}
