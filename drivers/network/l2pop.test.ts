import { describe, expect, it } from "vitest";
import { floodLists, remotePorts } from "./l2pop.ts";

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

  it("remotePorts: the other hosts' ports of each local network, with their VTEP", () => {
    const bindings = [
      { networkId: "a", host: "h1", mac: "52:54:00:00:00:01", ip: "10.1.0.1" },
      { networkId: "a", host: "h2", mac: "52:54:00:00:00:03", ip: "10.1.0.3" },
      { networkId: "a", host: "h3", mac: "52:54:00:00:00:02" },
      { networkId: "a", host: "h9", mac: "52:54:00:00:00:09" }, // no known VTEP
      { networkId: "b", host: "h2", mac: "52:54:00:00:00:04" }, // no local port on b
    ];
    expect(remotePorts(bindings, "h1", (h) => vtep[h])).toEqual(
      new Map([
        [
          "a",
          [
            { mac: "52:54:00:00:00:02", vtep: "10.0.0.3" },
            { mac: "52:54:00:00:00:03", ip: "10.1.0.3", vtep: "10.0.0.2" },
          ],
        ],
      ]),
    );
  });
});
