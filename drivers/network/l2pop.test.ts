import { describe, expect, it } from "vitest";
import { floodLists } from "./l2pop.ts";

describe("floodLists", () => {
  const vtep: Record<string, string> = { h1: "10.0.0.1", h2: "10.0.0.2", h3: "10.0.0.3" };
  it("table", () => {
    const bindings = [
      { networkId: "a", host: "h1" },
      { networkId: "a", host: "h2" },
      { networkId: "a", host: "h2" },
      { networkId: "a", host: "h3" },
      { networkId: "b", host: "h2" },
      { networkId: "c", host: "h1" },
      { networkId: "c", host: "h9" }, // no known VTEP
    ];
    expect(floodLists(bindings, "h1", (h) => vtep[h])).toEqual(
      new Map([
        ["a", ["10.0.0.2", "10.0.0.3"]],
        ["c", []],
      ]),
    );
    expect(floodLists(bindings, "h2", (h) => vtep[h])).toEqual(
      new Map([
        ["a", ["10.0.0.1", "10.0.0.3"]],
        ["b", []],
      ]),
    );
    expect(floodLists([], "h1", (h) => vtep[h])).toEqual(new Map());
  });
});
