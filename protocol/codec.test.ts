import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Packr } from "msgpackr";
import {
  decode,
  decodeAs,
  DecodeError,
  DEFAULT_MAX_BYTES,
  DuplicateMessageTypeError,
  encode,
  EncodeError,
  isMessage,
  MessageRegistry,
  PROTOCOL_VERSION,
  UnsupportedVersionError,
  type Envelope,
} from "./codec.ts";
import { fields } from "./validate.ts";
import { SeededRandom } from "./random.ts";

const hlc = { wallMs: 1_700_000_000_000, counter: 3, node: "node-a" };
const rawPackr = new Packr({ useRecords: false });

function msg(body: unknown, extra: Partial<Envelope> = {}): Omit<Envelope, "v"> & { v?: string } {
  return { type: "test.thing", from: "node-a", hlc, body, ...extra };
}

// Plain data as the wire carries it: no -0 (msgpackr packs it as 0), no keys msgpackr renames.
const key = fc.string({ maxLength: 12 }).filter((k) => k !== "__proto__");
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double().map((d) => (Object.is(d, -0) ? 0 : d)),
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }),
);
const plain = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(key, tie("value"), { maxKeys: 5 }),
  ),
})).value;

function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

describe("codec round-trips", () => {
  it("decode(encode(m)) equals m for arbitrary plain bodies", () => {
    fc.assert(
      fc.property(plain, fc.nat(), fc.nat({ max: 0xffffff }), (body, wallMs, counter) => {
        const env = msg(body, { hlc: { wallMs, counter, node: "n" } });
        const out = decode(encode(env));
        expect(out.v).toBe(PROTOCOL_VERSION);
        expect(out.hlc).toEqual({ wallMs, counter, node: "n" });
        expect(normalise(out.body)).toEqual(normalise(body));
      }),
      { numRuns: 1000 },
    );
  });

  it("numbers keep their exact value, including 2^53-1, tiny and huge doubles, NaN and infinities", () => {
    const nums = [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 0.1, 1e-300, 1.7976931348623157e308, Number.MIN_VALUE];
    const out = decode(encode(msg({ nums, special: [NaN, Infinity, -Infinity] }))).body as { nums: number[]; special: number[] };
    expect(out.nums).toEqual(nums);
    expect(out.special[0]).toBeNaN();
    expect(out.special.slice(1)).toEqual([Infinity, -Infinity]);
  });

  it("-0 becomes 0 (msgpackr packs it as an integer)", () => {
    const out = decode(encode(msg({ z: -0 }))).body as { z: number };
    expect(Object.is(out.z, 0)).toBe(true);
  });

  it("undefined fields are dropped, undefined in arrays becomes null", () => {
    const out = decode(encode(msg({ a: undefined, b: [undefined, 1] }))).body;
    expect(out).toEqual({ b: [null, 1] });
    expect(Object.keys(out as object)).toEqual(["b"]);
  });

  it("decodes a message that sits at an offset inside a larger buffer", () => {
    const bytes = encode(msg({ n: 2 ** 40, s: "x" }));
    const big = new Uint8Array(bytes.length + 13);
    big.set(bytes, 7);
    expect(decode(big.subarray(7, 7 + bytes.length)).body).toEqual({ n: 2 ** 40, s: "x" });
    expect(() => decode(big.subarray(7))).toThrow(/trailing/);
  });

  it("bytes decode as a copy, not a view of the input", () => {
    const bytes = encode(msg({ blob: new Uint8Array([7, 8, 9]) }));
    const out = decode(bytes).body as { blob: Uint8Array };
    bytes.fill(0);
    expect(Array.from(out.blob)).toEqual([7, 8, 9]);
  });
});

describe("codec version rules", () => {
  it("accepts a higher minor and drops unknown envelope and hlc fields", () => {
    const bytes = rawPackr.pack({ v: "1.7", type: "test.thing", from: "node-b", hlc: { ...hlc, extra: 1 }, body: { x: 1 }, trace: "abc" });
    const env = decode(bytes);
    expect(env).toEqual({ v: "1.7", type: "test.thing", from: "node-b", hlc, body: { x: 1 } });
  });

  it("rejects another major with UnsupportedVersionError naming it", () => {
    for (const v of ["2.0", "0.9", "17.3"]) {
      const bytes = rawPackr.pack({ v, type: "whatever", from: "x", hlc, body: null });
      const err = (() => {
        try {
          decode(bytes);
        } catch (e) {
          return e;
        }
      })() as UnsupportedVersionError;
      expect(err).toBeInstanceOf(UnsupportedVersionError);
      expect(err.code).toBe("UNSUPPORTED_VERSION");
      expect(err.major).toBe(Number(v.split(".")[0]));
    }
  });

  it("an unknown major is refused before the rest of the envelope is read", () => {
    // A future major may change everything but `v`; its other fields must not matter.
    expect(() => decode(rawPackr.pack({ v: "2.0", type: 42 }))).toThrow(UnsupportedVersionError);
  });

  it("malformed versions are DecodeErrors", () => {
    for (const v of ["1", "1.0.0", "01.0", "1.-1", "", 1, null]) {
      expect(() => decode(rawPackr.pack({ v, type: "t", from: "x", hlc, body: null }))).toThrow(DecodeError);
    }
  });
});

describe("codec validation", () => {
  const registry = new MessageRegistry();
  const Bid = registry.define("auction.bid", (body, path) => {
    const f = fields(body, path);
    return { server: f.string("server", { max: 64 }), score: f.number("score", { min: 0 }) };
  });

  it("validates registered bodies and narrows with isMessage", () => {
    const env = decode(encode(msg({ server: "s1", score: 2, extra: true }, { type: "auction.bid" }), { registry }), { registry });
    expect(isMessage(env, Bid)).toBe(true);
    if (isMessage(env, Bid)) expect(env.body).toEqual({ server: "s1", score: 2 });
  });

  it("an invalid registered body is a DecodeError naming the path", () => {
    const bytes = rawPackr.pack({ v: "1.0", type: "auction.bid", from: "n", hlc, body: { server: "s1", score: -1 } });
    expect(() => decode(bytes, { registry })).toThrow(/body\.score: -1 is below 0/);
  });

  it("encode refuses an invalid registered body", () => {
    expect(() => encode(msg({ server: 5 }, { type: "auction.bid" }), { registry })).toThrow(EncodeError);
  });

  it("decodeAs checks the type", () => {
    const bytes = encode(msg({ server: "s1", score: 1 }, { type: "auction.bid" }), { registry });
    expect(decodeAs(bytes, Bid, { registry }).body.score).toBe(1);
    expect(decodeAs(bytes, Bid).body.server).toBe("s1"); // validated even via another registry
    expect(() => decodeAs(encode(msg({})), Bid, { registry })).toThrow(DecodeError);
  });

  it("registering a type twice throws", () => {
    expect(() => registry.define("auction.bid", () => 1)).toThrow(DuplicateMessageTypeError);
  });

  it("a throwing validator becomes a DecodeError", () => {
    const r = new MessageRegistry();
    r.define("bad.validator", () => {
      throw new TypeError("oops");
    });
    expect(() => decode(encode(msg({}, { type: "bad.validator" })), { registry: r })).toThrow(DecodeError);
  });

  it("rejects bad envelopes", () => {
    const cases: unknown[] = [
      null,
      [1, 2],
      "text",
      { v: "1.0", type: "Bad Type", from: "n", hlc, body: 1 },
      { v: "1.0", type: "t", from: "", hlc, body: 1 },
      { v: "1.0", type: "t", from: "a b", hlc, body: 1 },
      { v: "1.0", type: "t", from: "n", hlc: { wallMs: -1, counter: 0, node: "n" }, body: 1 },
      { v: "1.0", type: "t", from: "n", hlc: { wallMs: 1.5, counter: 0, node: "n" }, body: 1 },
      { v: "1.0", type: "t", from: "n", hlc: { wallMs: 1, counter: 2 ** 24, node: "n" }, body: 1 },
      { v: "1.0", type: "t", from: "n" },
    ];
    for (const c of cases) expect(() => decode(rawPackr.pack(c))).toThrow(DecodeError);
  });

  it("enforces the size cap on both sides", () => {
    const big = "x".repeat(200_000);
    const body = [big, big, big, big, big, big];
    expect(() => encode(msg(body))).toThrow(EncodeError);
    const bytes = encode(msg(body), { maxBytes: 2 * DEFAULT_MAX_BYTES });
    expect(() => decode(bytes)).toThrow(/exceed the 1048576-byte limit/);
    expect(decode(bytes, { maxBytes: 2 * DEFAULT_MAX_BYTES }).body).toEqual(body);
  });

  it("enforces string, container and depth limits", () => {
    expect(() => decode(encode(msg("y".repeat(300_000))))).toThrow(/string of 300000 bytes/);
    expect(() => decode(encode(msg(new Array(1000).fill(0))), { limits: { maxItems: 999 } })).toThrow(/1000 items/);
    let deep: unknown = 0;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => encode(msg(deep))).toThrow(EncodeError);
    expect(() => decode(rawPackr.pack({ v: "1.0", type: "t", from: "n", hlc, body: deep }))).toThrow(/nesting deeper than 32/);
  });

  it("refuses extension types, non-string keys, unsafe 64-bit integers and trailing bytes", () => {
    const withDate = new Packr({ useRecords: false }).pack({ v: "1.0", type: "t", from: "n", hlc, body: new Date(0) });
    expect(() => decode(withDate)).toThrow(/extension type/);
    const withMap = rawPackr.pack({ v: "1.0", type: "t", from: "n", hlc, body: new Map([[1, 2]]) });
    expect(() => decode(withMap)).toThrow(/map key is not a string/);
    const big = new Packr({ useRecords: false, useBigIntExtension: false }).pack({ v: "1.0", type: "t", from: "n", hlc, body: 2n ** 60n });
    expect(() => decode(big)).toThrow(/beyond 2\^53/);
    const ok = encode(msg(1));
    const trailing = new Uint8Array([...ok, 0xc0]);
    expect(() => decode(trailing)).toThrow(/trailing/);
  });

  it("records (useRecords) from a misconfigured sender are refused, not misread", () => {
    const records = new Packr({ useRecords: true }).pack({ v: "1.0", type: "t", from: "n", hlc, body: 1 });
    expect(() => decode(records)).toThrow(DecodeError);
  });
});

// ---- fuzzing --------------------------------------------------------------------------------

function validMessages(): Uint8Array[] {
  return [
    encode(msg(null)),
    encode(msg({ server: "s1", score: 1.25, tags: ["a", "b"], blob: new Uint8Array(40).fill(3) })),
    encode(msg({ pools: Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, free: i * 1000, big: 2 ** 40 + i })) })),
    encode(msg({ nested: { a: { b: { c: { d: [1, [2, [3, [4]]]] } } } }, s: "é✓".repeat(50) })),
  ];
}

function attempt(bytes: Uint8Array, stats: { ok: number; decodeErr: number; versionErr: number; worstMs: number }): void {
  const t0 = performance.now();
  try {
    decode(bytes);
    stats.ok++;
  } catch (e) {
    if (e instanceof UnsupportedVersionError) stats.versionErr++;
    else if (e instanceof DecodeError) stats.decodeErr++;
    else throw new Error(`crash on input ${Buffer.from(bytes.subarray(0, 64)).toString("hex")}: ${String(e)}`, { cause: e });
  }
  stats.worstMs = Math.max(stats.worstMs, performance.now() - t0);
}

describe("codec fuzzing", () => {
  it(">= 10,000 random and mutated inputs: only DecodeError/UnsupportedVersionError, each bounded", () => {
    const rnd = new SeededRandom(0xc0dec);
    const stats = { ok: 0, decodeErr: 0, versionErr: 0, worstMs: 0 };
    const valid = validMessages();
    let total = 0;
    const run = (b: Uint8Array) => {
      total++;
      attempt(b, stats);
    };
    // 1. random bytes of random lengths
    for (let i = 0; i < 2000; i++) run(rnd.bytes(1 + rnd.int(i % 10 === 0 ? 4096 : 64)));
    // 2. random bytes behind a plausible first byte (fixmap, map16, array32, str32)
    for (let i = 0; i < 1000; i++) run(new Uint8Array([[0x85, 0xde, 0xdd, 0xdb, 0xc6][i % 5], ...rnd.bytes(rnd.int(100))]));
    for (const v of valid) {
      // 3. every truncation
      for (let n = 0; n < v.length; n++) run(v.subarray(0, n));
      // 4. single and multiple bit flips
      for (let i = 0; i < 1000; i++) {
        const m = Uint8Array.from(v); // (Buffer#slice would be a view)
        const flips = 1 + rnd.int(i % 4 === 0 ? 8 : 1);
        for (let f = 0; f < flips; f++) m[rnd.int(m.length)] ^= 1 << rnd.int(8);
        run(m);
      }
      // 5. byte replaced by a length-prefix type followed by a huge length
      for (let i = 0; i < 300; i++) {
        const at = rnd.int(v.length);
        const prefix = [0xdb, 0xdd, 0xdf, 0xc6, 0xda, 0xdc, 0xde, 0xc5][rnd.int(8)];
        const huge = [0xff, 0xff, 0xff, 0xff].map((x) => (rnd.int(4) === 0 ? rnd.int(256) : x));
        run(new Uint8Array([...v.subarray(0, at), prefix, ...huge, ...v.subarray(at + 1)]));
      }
      // 6. spliced: random chunk of another valid message inserted
      for (let i = 0; i < 200; i++) {
        const o = valid[rnd.int(valid.length)];
        const a = rnd.int(o.length);
        const at = rnd.int(v.length);
        run(new Uint8Array([...v.subarray(0, at), ...o.subarray(a, a + 1 + rnd.int(30)), ...v.subarray(at)]));
      }
    }
    // 7. pathological: deep nesting, many tiny containers, max-size garbage
    run(new Uint8Array(DEFAULT_MAX_BYTES).fill(0x91));
    run(new Uint8Array(DEFAULT_MAX_BYTES).fill(0x81));
    run(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, ...new Uint8Array(DEFAULT_MAX_BYTES - 5)]));
    run(new Uint8Array([0xdc, 0xff, 0xff, ...new Uint8Array(0xffff)]));
    run(rnd.bytes(DEFAULT_MAX_BYTES));
    run(new Uint8Array(DEFAULT_MAX_BYTES + 1));
    // 8. version variants
    for (let i = 0; i < 200; i++) run(rawPackr.pack({ v: `${rnd.int(4)}.${rnd.int(30)}`, type: "t", from: "n", hlc, body: rnd.int(9) }));

    console.log(`codec fuzz: ${total} inputs, ${stats.ok} decoded, ${stats.decodeErr} DecodeError, ${stats.versionErr} UnsupportedVersionError, worst ${stats.worstMs.toFixed(1)} ms`);
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(stats.ok + stats.decodeErr + stats.versionErr).toBe(total);
    expect(stats.decodeErr).toBeGreaterThan(total / 2); // the mutations really break things
    expect(stats.ok).toBeGreaterThan(0); // and some survive (e.g. flips inside strings)
    expect(stats.versionErr).toBeGreaterThan(0);
    expect(stats.worstMs).toBeLessThan(500); // a hang would be seconds; GC and a loaded 2-core CI box stay well below
  });

  it("fast-check: arbitrary bytes and arbitrary msgpack values never crash the decoder", () => {
    const stats = { ok: 0, decodeErr: 0, versionErr: 0, worstMs: 0 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => attempt(b, stats)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }), (x) => {
        let bytes: Uint8Array;
        try {
          bytes = rawPackr.pack({ v: "1.0", type: "t", from: "n", hlc, body: x });
        } catch {
          return; // msgpackr itself cannot pack it
        }
        attempt(bytes, stats);
      }),
      { numRuns: 1000 },
    );
    expect(stats.worstMs).toBeLessThan(500); // a hang would be seconds; GC and a loaded 2-core CI box stay well below
  });
});
