// What a node knows of every host's capacity: the latest advert per node (by seq) and its age.
// Candidate selection samples from it, so a placement costs O(sample), not O(mesh).
import type { Clock } from "../../protocol/clock.ts";
import type { HostState } from "../../protocol/placement/index.ts";
import type { Random } from "../../protocol/random.ts";

export interface ViewEntry {
  state: HostState;
  seq: number;
  receivedAt: number;
}

export class CapacityView {
  readonly self: string;
  private readonly clock: Clock;
  private readonly entries = new Map<string, ViewEntry>();
  /** Node ids in an array for O(1) random picks. */
  private readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(self: string, clock: Clock) {
    this.self = self;
    this.clock = clock;
  }

  /** Takes a remote advert if it is newer than what we have. Returns true if taken. */
  learn(state: HostState, seq: number): boolean {
    const old = this.entries.get(state.node);
    if (old && old.seq >= seq && state.node !== this.self) {
      if (old.seq === seq) old.receivedAt = this.clock.now(); // a duplicate still proves liveness
      return false;
    }
    this.set(state, seq, old);
    return true;
  }

  /** Our own state, always current. */
  updateSelf(state: HostState, seq: number): void {
    this.set(state, seq, this.entries.get(state.node));
  }

  /** Optimistically counts a resource we just saw awarded elsewhere, until that host's next advert. */
  noteAward(node: string, state: HostState): void {
    const old = this.entries.get(node);
    if (old) this.entries.set(node, { ...old, state });
  }

  get(node: string): ViewEntry | undefined {
    return this.entries.get(node);
  }

  ageMs(node: string): number | undefined {
    const e = this.entries.get(node);
    return e ? this.clock.now() - e.receivedAt : undefined;
  }

  forget(node: string): void {
    if (!this.entries.delete(node)) return;
    const i = this.index.get(node)!;
    const last = this.ids.pop()!;
    if (last !== node) {
      this.ids[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(node);
  }

  get size(): number {
    return this.entries.size;
  }

  /** All entries no older than maxAgeMs (self always counts as fresh). */
  fresh(maxAgeMs: number): HostState[] {
    const now = this.clock.now();
    const out: HostState[] = [];
    for (const [node, e] of this.entries) if (node === this.self || now - e.receivedAt <= maxAgeMs) out.push(e.state);
    return out;
  }

  /** Up to `n` distinct fresh hosts picked at random (all fresh hosts when the view is that small). */
  sample(n: number, maxAgeMs: number, random: Random): HostState[] {
    if (this.ids.length <= n) return this.fresh(maxAgeMs);
    const now = this.clock.now();
    const picked = new Set<string>();
    const out: HostState[] = [];
    // Rejection sampling: cheap while n is small against the view; bounded tries for stale-heavy views.
    for (let tries = 0; out.length < n && tries < n * 4; tries++) {
      const id = this.ids[random.int(this.ids.length)];
      if (picked.has(id)) continue;
      picked.add(id);
      const e = this.entries.get(id)!;
      if (id === this.self || now - e.receivedAt <= maxAgeMs) out.push(e.state);
    }
    return out;
  }

  private set(state: HostState, seq: number, e: ViewEntry | undefined): void {
    if (e) {
      // In place: one advert per host per change, received by every node of its site.
      e.state = state;
      e.seq = seq;
      e.receivedAt = this.clock.now();
      return;
    }
    this.index.set(state.node, this.ids.length);
    this.ids.push(state.node);
    this.entries.set(state.node, { state, seq, receivedAt: this.clock.now() });
  }
}
