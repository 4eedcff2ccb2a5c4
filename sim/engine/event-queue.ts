// The simulator's agenda: events keyed by (time, sequence). The sequence number breaks ties in
// scheduling order, so two runs with the same seed pop events in exactly the same order.
// Two tiers: a binary min-heap holds the events before `nearEnd` (the end of the current window of
// WINDOW_MS); later ones wait in one bucket per window and enter the heap when their window starts.
// Most events are network deliveries a few ms ahead, while the far ones (advert refreshes ten minutes
// out, request timeouts, many of them cancelled) would otherwise make every pop sift through a heap
// of tens of thousands. The pop order is exactly that of a single heap.

export interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  /** Cleared when cancelled; the queue drops it lazily. */
  live: boolean;
  /** A node's timer runs only if its process has not restarted since (`owner.alive === inc`). */
  owner: { readonly alive: number } | null;
  inc: number;
}

/** Width of a far bucket (virtual ms). */
const WINDOW_MS = 1000;

export class EventQueue {
  private heap: SimEvent[] = [];
  /** Every event in `heap` is before nearEnd; every event in `far` is at or after it. */
  private nearEnd = Number.NEGATIVE_INFINITY;
  private readonly far = new Map<number, SimEvent[]>();
  /** Min-heap of the window numbers in `far`. */
  private readonly farWindows: number[] = [];
  private nextSeq = 0;
  private farCount = 0;
  /** Events run so far (figures: events per second). */
  popped = 0;

  get size(): number {
    return this.heap.length + this.farCount;
  }

  push(at: number, fn: () => void, owner: { readonly alive: number } | null = null): SimEvent {
    const ev: SimEvent = { at, seq: this.nextSeq++, fn, live: true, owner, inc: owner ? owner.alive : 0 };
    if (at < this.nearEnd) {
      heapPush(this.heap, ev);
      return ev;
    }
    const w = Math.floor(at / WINDOW_MS);
    const bucket = this.far.get(w);
    if (bucket) bucket.push(ev);
    else {
      this.far.set(w, [ev]);
      numPush(this.farWindows, w);
    }
    this.farCount++;
    return ev;
  }

  /** Time of the earliest live event, or Infinity. */
  peekTime(): number {
    return this.settle() ? this.heap[0].at : Number.POSITIVE_INFINITY;
  }

  pop(): SimEvent | undefined {
    if (!this.settle()) return undefined;
    this.popped++;
    return heapPop(this.heap);
  }

  /** Drops dead events from the top, pulling the next window in when the heap runs dry; false when empty. */
  private settle(): boolean {
    const h = this.heap;
    for (;;) {
      while (h.length > 0 && !h[0].live) heapPop(h);
      if (h.length > 0) return true;
      if (this.farWindows.length === 0) return false;
      const w = numPop(this.farWindows);
      const bucket = this.far.get(w) as SimEvent[];
      this.far.delete(w);
      this.farCount -= bucket.length;
      this.nearEnd = (w + 1) * WINDOW_MS;
      for (const ev of bucket) if (ev.live) heapPush(h, ev);
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function heapPush(h: SimEvent[], ev: SimEvent): void {
  let i = h.length;
  h.push(ev);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(ev, h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = ev;
}

function heapPop(h: SimEvent[]): SimEvent {
  const top = h[0];
  const last = h.pop() as SimEvent;
  const n = h.length;
  if (n > 0) {
    let i = 0;
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

function numPush(h: number[], x: number): void {
  let i = h.length;
  h.push(x);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (h[parent] <= x) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = x;
}

function numPop(h: number[]): number {
  const top = h[0];
  const last = h.pop() as number;
  const n = h.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r] < h[l] ? r : l;
      if (h[c] >= last) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
  return top;
}
