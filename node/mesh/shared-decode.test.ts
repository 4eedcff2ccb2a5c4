import { describe, expect, it } from "vitest";
import { deepFreeze, sharedDecoder } from "./shared-decode.ts";
import { decode, encode } from "./wire.ts";

describe("sharedDecoder", () => {
  it("reads the same bytes once and hands every receiver the same frozen value", () => {
    let reads = 0;
    const read = sharedDecoder((d) => {
      reads++;
      return decode<{ a: { b: number[] } }>(d).body;
    });
    const bytes = encode("test.shared", "n1", { a: { b: [1, 2] } });
    const first = read(bytes);
    const second = read(bytes);
    expect(second).toBe(first);
    expect(reads).toBe(1);
    expect(first).toEqual({ a: { b: [1, 2] } });
    expect(() => {
      (first.a.b as number[]).push(3);
    }).toThrow(TypeError);
    // Equal content in other bytes objects (as libp2p delivers) is read again.
    read(encode("test.shared", "n1", { a: { b: [1, 2] } }));
    expect(reads).toBe(2);
  });

  it("throws the same error to every receiver of bad bytes, reading them once", () => {
    let reads = 0;
    const read = sharedDecoder((d) => {
      reads++;
      return decode(d).body;
    });
    const junk = new Uint8Array([0xc1, 0x00]);
    let e1: unknown;
    let e2: unknown;
    try {
      read(junk);
    } catch (e) {
      e1 = e;
    }
    try {
      read(junk);
    } catch (e) {
      e2 = e;
    }
    expect(e1).toBeInstanceOf(Error);
    expect(e2).toBe(e1);
    expect(reads).toBe(1);
  });

  it("deepFreeze freezes nested objects and arrays", () => {
    const v = deepFreeze({ x: { y: [{ z: 1 }] } });
    expect(Object.isFrozen(v.x.y[0])).toBe(true);
  });
});
