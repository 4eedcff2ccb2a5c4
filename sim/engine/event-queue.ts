// The simulator's agenda: a binary min-heap of events keyed by (time, sequence). The sequence number
// breaks ties in scheduling order, so two runs with the same seed pop events in exactly the same order.

export interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  /** Cleared when cancelled; the heap drops it lazily when it reaches the top. */
  live: boolean;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private nextSeq = 0;
  /** Events run so far (figures: events per second). */
  popped = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, fn: () => void): SimEvent {
    const ev: SimEvent = { at, seq: this.nextSeq++, fn, live: true };
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(ev, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = ev;
    return ev;
  }

  /** Time of the earliest live event, or Infinity. */
  peekTime(): number {
    this.dropDead();
    return this.heap.length > 0 ? this.heap[0].at : Number.POSITIVE_INFINITY;
  }

  pop(): SimEvent | undefined {
    this.dropDead();
    const ev = this.removeTop();
    if (ev) this.popped++;
    return ev;
  }

  private dropDead(): void {
    while (this.heap.length > 0 && !this.heap[0].live) this.removeTop();
  }

  private removeTop(): SimEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as SimEvent;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r], h[l]) ? r : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
