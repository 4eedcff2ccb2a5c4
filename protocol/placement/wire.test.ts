import { describe, expect, it } from "vitest";
import { decode, encode } from "../codec.ts";
import { host } from "./testing.ts";
import { readHostState, wireHostState } from "./wire.ts";

const roundTrip = (body: unknown) => decode(encode({ type: "test.host", from: "n1", hlc: { wallMs: 0, counter: 0, node: "n1" }, body })).body;

describe("host state on the wire", () => {
  it("carries server-group counts as [id, n] pairs and reads them back", () => {
    const h = host("n1", { groups: { g1: 2, "g-2": 1 } });
    const wire = wireHostState(h);
    expect(wire.groups).toEqual([["g1", 2], ["g-2", 1]]);
    const back = readHostState(roundTrip(wire), "body");
    expect({ ...back.groups }).toEqual({ g1: 2, "g-2": 1 });
    expect(back.groups.g1).toBe(2);
    expect(back.groups.nope ?? 0).toBe(0);
    // ids are data, not property names of a shared prototype
    expect(Object.getPrototypeOf(back.groups)).toBeNull();
    expect(back.groups.toString).toBeUndefined();
  });

  it("still reads the older map form", () => {
    const back = readHostState(roundTrip(host("n1", { groups: { g1: 3 } })), "body");
    expect(back.groups.g1).toBe(3);
  });

  it("refuses malformed pairs and prototype keys", () => {
    const bad = (groups: unknown) => () => readHostState({ ...host("n1"), groups }, "body");
    expect(bad([["g1"]])).toThrow(/expected an \[id, count\] pair/);
    expect(bad([["g1", -1]])).toThrow(/below 0/);
    expect(bad([["__proto__", 1]])).toThrow(/forbidden key/);
    expect(bad([[5, 1]])).toThrow(/expected a string/);
  });
});
