// Schema checks for decoded wire data: a decoded message is `unknown` until these readers turn it
// into typed values. Every failure is a DecodeError naming the path ("body.pools[2].vcpu"), so a
// peer sending nonsense gets a precise log line and never a TypeError deep inside a handler.
import { PeerstackError } from "./errors.ts";
import type { HlcTimestamp } from "./hlc.ts";

/** Bytes that are not a valid message (garbage, truncated, wrong shape or out of limits). */
export class DecodeError extends PeerstackError {
  readonly path: string;
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super("DECODE", path ? `decoding ${path}: ${problem}` : `decoding message: ${problem}`, options);
    this.path = path;
  }
}

/** Default cap on any string a reader accepts unless the field says otherwise. */
export const DEFAULT_MAX_STRING = 64 * 1024;
/** Default cap on any array a reader accepts unless the field says otherwise. */
export const DEFAULT_MAX_ITEMS = 10_000;

export type Fields = Readonly<Record<string, unknown>>;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "bytes";
  return `a ${typeof v}`;
}

/** A plain string-keyed map (not an array, not bytes, not null). */
export function isRecord(v: unknown): v is Fields {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function expectRecord(v: unknown, path: string): Fields {
  if (!isRecord(v)) throw new DecodeError(path, `expected a map, got ${describe(v)}`);
  return v;
}

export interface StringRule {
  /** Maximum length in UTF-16 code units (default DEFAULT_MAX_STRING). */
  max?: number;
  min?: number;
  pattern?: RegExp;
}

export function expectString(v: unknown, path: string, rule: StringRule = {}): string {
  if (typeof v !== "string") throw new DecodeError(path, `expected a string, got ${describe(v)}`);
  const max = rule.max ?? DEFAULT_MAX_STRING;
  if (v.length > max) throw new DecodeError(path, `string of ${v.length} chars exceeds ${max}`);
  if (rule.min !== undefined && v.length < rule.min) throw new DecodeError(path, `string shorter than ${rule.min}`);
  if (rule.pattern && !rule.pattern.test(v)) throw new DecodeError(path, `string does not match ${rule.pattern}`);
  return v;
}

export interface NumberRule {
  min?: number;
  max?: number;
}

/** A finite number (no NaN, no ±Infinity). */
export function expectNumber(v: unknown, path: string, rule: NumberRule = {}): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new DecodeError(path, `expected a finite number, got ${describe(v)}`);
  if (rule.min !== undefined && v < rule.min) throw new DecodeError(path, `${v} is below ${rule.min}`);
  if (rule.max !== undefined && v > rule.max) throw new DecodeError(path, `${v} is above ${rule.max}`);
  return v;
}

/** A safe integer (|n| <= 2^53 - 1). */
export function expectInt(v: unknown, path: string, rule: NumberRule = {}): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new DecodeError(path, `expected an integer, got ${describe(v)}`);
  return expectNumber(v, path, rule);
}

/** A safe integer >= 0 (counts, sequence numbers, counter entries). */
export function expectCount(v: unknown, path: string, rule?: NumberRule): number {
  // the common case (an in-range count) allocates nothing; the rule object is built only to fail
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= (rule?.min ?? 0) && (rule?.max === undefined || v <= rule.max)) return v;
  return expectInt(v, path, { min: 0, ...rule });
}

export function expectBool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new DecodeError(path, `expected a boolean, got ${describe(v)}`);
  return v;
}

export function expectBytes(v: unknown, path: string, rule: { max?: number } = {}): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new DecodeError(path, `expected bytes, got ${describe(v)}`);
  if (rule.max !== undefined && v.length > rule.max) throw new DecodeError(path, `${v.length} bytes exceed ${rule.max}`);
  return v;
}

export function expectOneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    throw new DecodeError(path, `expected one of ${values.join("|")}`);
  }
  return v as T;
}

export function expectArray<T>(v: unknown, path: string, item: (x: unknown, path: string) => T, rule: { max?: number; min?: number } = {}): T[] {
  if (!Array.isArray(v)) throw new DecodeError(path, `expected an array, got ${describe(v)}`);
  const max = rule.max ?? DEFAULT_MAX_ITEMS;
  if (v.length > max) throw new DecodeError(path, `${v.length} items exceed ${max}`);
  if (rule.min !== undefined && v.length < rule.min) throw new DecodeError(path, `fewer than ${rule.min} items`);
  return v.map((x, i) => item(x, `${path}[${i}]`));
}

/** A map with arbitrary string keys (e.g. node id -> count), each value checked by `value`. */
export function expectMapOf<T>(
  v: unknown,
  path: string,
  value: (x: unknown, path: string) => T,
  rule: { maxKeys?: number; key?: StringRule } = {},
): Record<string, T> {
  const m = expectRecord(v, path);
  const keys = Object.keys(m);
  const maxKeys = rule.maxKeys ?? DEFAULT_MAX_ITEMS;
  if (keys.length > maxKeys) throw new DecodeError(path, `${keys.length} keys exceed ${maxKeys}`);
  const out: Record<string, T> = {};
  for (const k of keys) {
    expectString(k, `${path} key`, { max: 256, ...rule.key });
    if (k === "__proto__" || k === "__proto_") throw new DecodeError(path, `forbidden key "${k}"`);
    out[k] = value(m[k], `${path}.${k}`);
  }
  return out;
}

export const MAX_NODE_ID = 128;

/** A node id: non-empty, bounded, no control characters. */
const NODE_ID_RULE: StringRule = Object.freeze({ min: 1, max: MAX_NODE_ID, pattern: /^[\x21-\x7e]+$/ });

export function expectNodeId(v: unknown, path: string): string {
  return expectString(v, path, NODE_ID_RULE);
}

export function expectHlc(v: unknown, path: string): HlcTimestamp {
  const r = expectRecord(v, path);
  const { wallMs, counter, node } = r;
  // every message carries one: check in place, build the field paths only to report a failure
  if (typeof wallMs === "number" && Number.isSafeInteger(wallMs) && wallMs >= 0 && typeof counter === "number" && Number.isSafeInteger(counter) && counter >= 0 && counter <= 0xffffff && typeof node === "string" && node.length <= MAX_NODE_ID) {
    return { wallMs, counter, node };
  }
  return {
    wallMs: expectCount(r.wallMs, `${path}.wallMs`),
    counter: expectCount(r.counter, `${path}.counter`, { max: 0xffffff }),
    node: expectString(r.node, `${path}.node`, { max: MAX_NODE_ID }),
  };
}

/**
 * Field readers over one map, carrying the path for error messages:
 * `const f = fields(body, "body"); const seq = f.count("seq"); const az = f.optional("az", expectString);`
 */
export class FieldReader {
  readonly path: string;
  readonly raw: Fields;

  constructor(value: unknown, path: string) {
    this.path = path;
    this.raw = expectRecord(value, path);
  }

  at(name: string): string {
    return `${this.path}.${name}`;
  }

  string(name: string, rule?: StringRule): string {
    return expectString(this.raw[name], this.at(name), rule);
  }
  number(name: string, rule?: NumberRule): number {
    return expectNumber(this.raw[name], this.at(name), rule);
  }
  int(name: string, rule?: NumberRule): number {
    return expectInt(this.raw[name], this.at(name), rule);
  }
  count(name: string, rule?: NumberRule): number {
    return expectCount(this.raw[name], this.at(name), rule);
  }
  bool(name: string): boolean {
    return expectBool(this.raw[name], this.at(name));
  }
  bytes(name: string, rule?: { max?: number }): Uint8Array {
    return expectBytes(this.raw[name], this.at(name), rule);
  }
  nodeId(name: string): string {
    return expectNodeId(this.raw[name], this.at(name));
  }
  hlc(name: string): HlcTimestamp {
    return expectHlc(this.raw[name], this.at(name));
  }
  oneOf<T extends string>(name: string, values: readonly T[]): T {
    return expectOneOf(this.raw[name], this.at(name), values);
  }
  array<T>(name: string, item: (x: unknown, path: string) => T, rule?: { max?: number; min?: number }): T[] {
    return expectArray(this.raw[name], this.at(name), item, rule);
  }
  record(name: string): FieldReader {
    return new FieldReader(this.raw[name], this.at(name));
  }
  /** Any reader, for a field that may be absent (undefined or nil both count as absent). */
  optional<T>(name: string, read: (x: unknown, path: string) => T): T | undefined {
    const v = this.raw[name];
    return v === undefined || v === null ? undefined : read(v, this.at(name));
  }
  /** Any reader for a required field. */
  field<T>(name: string, read: (x: unknown, path: string) => T): T {
    return read(this.raw[name], this.at(name));
  }
}

export function fields(value: unknown, path: string): FieldReader {
  return new FieldReader(value, path);
}
