// Add-wins observed-remove set of strings, delta-state with dots (Almeida, Shoker, Baquero,
// "Delta state replicated data types", 2018, the optimised AWORSet):
//  - every add mints a fresh dot (node, counter) and tags the element with it;
//  - the causal context records every dot a replica has seen;
//  - remove(e) puts e's observed dots into the context without keeping them in the store;
//  - join keeps a dot if both sides have it, or one side has it and the other has not seen it.
// So an add concurrent with a remove survives (the remove did not observe the add's dot).
// Normal form: entries sorted by element, dots sorted, context compacted (contiguous dots folded
// into the version vector) — replicas that saw the same deltas hold deeply equal states.
import { DecodeError, expectArray, expectCount, expectNodeId, expectString, fields } from "../validate.ts";
import { checkNodeId, get, readVector, type Vector } from "./vector.ts";

/** An event id: the node that minted it and that node's sequence number. */
export type Dot = readonly [node: string, counter: number];

export interface CausalContext {
  /** node -> highest counter such that all of 1..counter were seen. */
  readonly vv: Vector;
  /** Seen dots beyond the vector (sorted, none contiguous with vv). */
  readonly cloud: readonly Dot[];
}

export interface OrSet {
  /** [element, its live dots] sorted by element; no element without dots. */
  readonly entries: readonly (readonly [string, readonly Dot[]])[];
  readonly ctx: CausalContext;
}

/** Longest element accepted (elements are ids or small keys). */
export const MAX_ELEMENT = 1024;

export function empty(): OrSet {
  return { entries: [], ctx: { vv: {}, cloud: [] } };
}

function compareDots(a: Dot, b: Dot): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
}

function dotKey(d: Dot): string {
  return `${d[1]}@${d[0]}`;
}

function seen(ctx: CausalContext, d: Dot, cloud: ReadonlySet<string>): boolean {
  return d[1] <= get(ctx.vv, d[0]) || cloud.has(dotKey(d));
}

/** Union of contexts, compacted. */
function joinContexts(a: CausalContext, b: CausalContext): CausalContext {
  const vv: Record<string, number> = {};
  for (const v of [a.vv, b.vv]) for (const [k, x] of Object.entries(v)) if (x > (vv[k] ?? 0)) vv[k] = x;
  const byNode = new Map<string, Set<number>>();
  for (const [node, c] of [...a.cloud, ...b.cloud]) {
    if (c <= (vv[node] ?? 0)) continue;
    let s = byNode.get(node);
    if (!s) byNode.set(node, (s = new Set()));
    s.add(c);
  }
  const cloud: Dot[] = [];
  for (const [node, counters] of byNode) {
    let top = vv[node] ?? 0;
    while (counters.has(top + 1)) counters.delete(++top);
    if (top > 0) vv[node] = top;
    for (const c of counters) if (c > top) cloud.push([node, c]);
  }
  cloud.sort(compareDots);
  return { vv, cloud };
}

function cloudSet(ctx: CausalContext): Set<string> {
  return new Set(ctx.cloud.map(dotKey));
}

export function merge(a: OrSet, b: OrSet): OrSet {
  const aCloud = cloudSet(a.ctx);
  const bCloud = cloudSet(b.ctx);
  const bMap = new Map(b.entries);
  const out: [string, Dot[]][] = [];
  const visit = (element: string, aDots: readonly Dot[], bDots: readonly Dot[]) => {
    const inB = new Set(bDots.map(dotKey));
    const kept: Dot[] = [];
    for (const d of aDots) if (inB.has(dotKey(d)) || !seen(b.ctx, d, bCloud)) kept.push(d);
    const inA = new Set(aDots.map(dotKey));
    for (const d of bDots) if (!inA.has(dotKey(d)) && !seen(a.ctx, d, aCloud)) kept.push(d);
    if (kept.length > 0) out.push([element, kept.sort(compareDots)]);
  };
  for (const [e, dots] of a.entries) visit(e, dots, bMap.get(e) ?? []);
  const aKeys = new Set(a.entries.map(([e]) => e));
  for (const [e, dots] of b.entries) if (!aKeys.has(e)) visit(e, [], dots);
  out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return { entries: out, ctx: joinContexts(a.ctx, b.ctx) };
}

function dotsOf(state: OrSet, element: string): readonly Dot[] {
  return state.entries.find(([e]) => e === element)?.[1] ?? [];
}

function nextCounter(ctx: CausalContext, node: string): number {
  let top = get(ctx.vv, node);
  for (const [n, c] of ctx.cloud) if (n === node && c > top) top = c;
  return top + 1;
}

function checkElement(element: string): void {
  if (typeof element !== "string" || element.length > MAX_ELEMENT) throw new TypeError(`or-set element must be a string of at most ${MAX_ELEMENT} chars`);
}

/** Adds `element` at `node`; the delta also covers the element's dots this replica had seen. */
export function add(state: OrSet, node: string, element: string): { state: OrSet; delta: OrSet } {
  checkNodeId(node);
  checkElement(element);
  const dot: Dot = [node, nextCounter(state.ctx, node)];
  const delta: OrSet = {
    entries: [[element, [dot]]],
    ctx: joinContexts({ vv: {}, cloud: [dot, ...dotsOf(state, element)] }, { vv: {}, cloud: [] }),
  };
  return { state: merge(state, delta), delta };
}

/** Removes what this replica has observed of `element` (a concurrent add elsewhere wins). */
export function remove(state: OrSet, element: string): { state: OrSet; delta: OrSet } {
  checkElement(element);
  const delta: OrSet = { entries: [], ctx: joinContexts({ vv: {}, cloud: [...dotsOf(state, element)] }, { vv: {}, cloud: [] }) };
  return { state: merge(state, delta), delta };
}

export function has(state: OrSet, element: string): boolean {
  return dotsOf(state, element).length > 0;
}

/** The elements, sorted. */
export function values(state: OrSet): string[] {
  return state.entries.map(([e]) => e);
}

function readDot(value: unknown, path: string): Dot {
  const [node, counter] = expectArray(value, path, (x) => x, { min: 2, max: 2 });
  return [expectNodeId(node, `${path}[0]`), expectCount(counter, `${path}[1]`, { min: 1 })];
}

/** Validates a decoded OR-set (state or delta) and brings it to normal form. */
export function read(value: unknown, path: string): OrSet {
  const f = fields(value, path);
  const c = f.record("ctx");
  const ctx = joinContexts({ vv: c.field("vv", readVector), cloud: c.array("cloud", readDot, { max: 100_000 }) }, { vv: {}, cloud: [] });
  const entries = f.array(
    "entries",
    (x, p) => {
      const [element, dots] = expectArray(x, p, (y) => y, { min: 2, max: 2 });
      return [expectString(element, `${p}[0]`, { max: MAX_ELEMENT }), expectArray(dots, `${p}[1]`, readDot, { min: 1 })] as const;
    },
    { max: 100_000 },
  );
  const cloud = cloudSet(ctx);
  for (const [e, dots] of entries) {
    for (const d of dots) if (!seen(ctx, d, cloud)) throw new DecodeError(path, `dot ${dotKey(d)} of "${e}" is not in the context`);
  }
  // Normal form: duplicate elements folded, dots deduplicated and sorted, entries sorted.
  const byElement = new Map<string, Map<string, Dot>>();
  for (const [e, dots] of entries) {
    let m = byElement.get(e);
    if (!m) byElement.set(e, (m = new Map()));
    for (const d of dots) m.set(dotKey(d), d);
  }
  const normal = [...byElement].map(([e, m]) => [e, [...m.values()].sort(compareDots)] as const);
  normal.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return { entries: normal, ctx };
}
