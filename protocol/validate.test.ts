import { describe, expect, it } from "vitest";
import { DecodeError, expectArray, expectBytes, expectHlc, expectInt, expectMapOf, expectNodeId, expectNumber, expectOneOf, expectString, fields } from "./validate.ts";

function errorOf(f: () => unknown): DecodeError {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("validate", () => {
  it("field readers return typed values and name the failing path", () => {
    const f = fields({ name: "vm1", vcpu: 2, ratio: 1.5, on: true, az: null, pools: [{ free: 3 }] }, "body");
    expect(f.string("name", { max: 10 })).toBe("vm1");
    expect(f.count("vcpu")).toBe(2);
    expect(f.number("ratio", { min: 1 })).toBe(1.5);
    expect(f.bool("on")).toBe(true);
    expect(f.optional("az", expectString)).toBeUndefined();
    expect(f.array("pools", (x, p) => fields(x, p).count("free"))).toEqual([3]);
    expect(errorOf(() => f.array("pools", (x, p) => fields(x, p).string("name"))).message).toBe(
      "decoding body.pools[0].name: expected a string, got a undefined",
    );
    expect(errorOf(() => f.count("ratio")).path).toBe("body.ratio");
    expect(errorOf(() => f.record("name")).code).toBe("DECODE");
  });

  it("limits", () => {
    expect(() => expectString("abcd", "s", { max: 3 })).toThrow(/exceeds 3/);
    expect(() => expectString("", "s", { min: 1 })).toThrow(/shorter/);
    expect(() => expectString("a b", "s", { pattern: /^\S+$/ })).toThrow(/match/);
    expect(() => expectArray([1, 2, 3], "a", (x) => x, { max: 2 })).toThrow(/3 items exceed 2/);
    expect(() => expectBytes(new Uint8Array(5), "b", { max: 4 })).toThrow(/5 bytes/);
    expect(() => expectMapOf({ a: 1, b: 2 }, "m", (x) => x, { maxKeys: 1 })).toThrow(/2 keys/);
  });

  it("numbers: finite only, integers safe only", () => {
    for (const v of [NaN, Infinity, "1", null]) expect(() => expectNumber(v, "n")).toThrow(DecodeError);
    for (const v of [1.5, 2 ** 53, -(2 ** 53)]) expect(() => expectInt(v, "n")).toThrow(DecodeError);
    expect(expectInt(-(2 ** 53 - 1), "n")).toBe(-(2 ** 53 - 1));
  });

  it("forbidden and bad keys, node ids, enums, HLC", () => {
    expect(() => expectMapOf(JSON.parse('{"__proto__": 1}'), "m", (x) => x)).toThrow(/forbidden key/);
    expect(() => expectMapOf({ __proto_: 1 }, "m", (x) => x)).toThrow(/forbidden key/);
    expect(() => expectNodeId("a\nb", "from")).toThrow(DecodeError);
    expect(() => expectNodeId("x".repeat(129), "from")).toThrow(DecodeError);
    expect(expectOneOf("pack", "w", ["pack", "spread"] as const)).toBe("pack");
    expect(() => expectOneOf("other", "w", ["pack", "spread"])).toThrow(/pack\|spread/);
    expect(expectHlc({ wallMs: 5, counter: 1, node: "n", junk: 1 }, "t")).toEqual({ wallMs: 5, counter: 1, node: "n" });
    expect(() => expectHlc({ wallMs: 5, counter: -1, node: "n" }, "t")).toThrow(/t\.counter/);
  });
});
