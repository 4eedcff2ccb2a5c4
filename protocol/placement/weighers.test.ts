import { describe, expect, it } from "vitest";
import { host, request } from "./testing.ts";
import { normalize, PACK, SPREAD, weighHosts } from "./weighers.ts";

const used = (vcpus: number, ramMb: number, diskGb: number) => ({ vcpus, ramMb, diskGb });

describe("nova.weights.normalize", () => {
  it.each([
    [[1, 2, 3], undefined, [0, 0.5, 1]],
    [[5, 5, 5], undefined, [0, 0, 0]],
    [[0, 50, 100], 0, [0, 0.5, 1]],
    [[25, 50, 100], 0, [0.25, 0.5, 1]],
    [[], undefined, []],
  ] as [number[], number | undefined, number[]][])("%j minval %s", (values, minval, out) => {
    expect(normalize(values, minval)).toEqual(out);
  });
});

describe("weighHosts", () => {
  const a = host("a", { used: used(0, 12288, 0) }); // 4 GiB free
  const b = host("b", { used: used(0, 4096, 0) }); // 12 GiB free
  const c = host("c", { used: used(0, 8192, 0) }); // 8 GiB free

  it("spreads by free RAM by default (ram minval 0: weights are free/max)", () => {
    const w = weighHosts([a, b, c], request("s"), { ...SPREAD, cpu: 0, disk: 0 });
    expect(w.map((x) => x.host.node)).toEqual(["b", "c", "a"]);
    expect(w.map((x) => x.weight)).toEqual([1, 8192 / 12288, 4096 / 12288]);
  });

  it("packs with negative multipliers", () => {
    expect(weighHosts([a, b, c], request("s"), PACK).map((x) => x.host.node)).toEqual(["a", "c", "b"]);
  });

  it("sums multiplier x normalised weight over weighers", () => {
    const x = host("x", { used: used(16, 0, 0) }); // free 16 vcpus, 16 GiB
    const y = host("y", { used: used(0, 8192, 0) }); // free 32 vcpus, 8 GiB
    const w = weighHosts([x, y], request("s"), { ...SPREAD, disk: 0, ram: 1, cpu: 3 });
    expect(w[0].host.node).toBe("y");
    expect(w[0].weight).toBeCloseTo(0.5 + 3 * 1);
    expect(w[1].weight).toBeCloseTo(1 + 3 * 0.5);
  });

  it("instance-count weigher: positive multiplier favours busy hosts", () => {
    const busy = host("busy", { instances: 9 });
    const idle = host("idle", { instances: 1 });
    const m = { ram: 0, cpu: 0, disk: 0, instances: 1, softAffinity: 0, softAntiAffinity: 0 };
    expect(weighHosts([idle, busy], request("s"), m)[0].host.node).toBe("busy");
    expect(weighHosts([idle, busy], request("s"), { ...m, instances: -1 })[0].host.node).toBe("idle");
  });

  it("soft affinity prefers the host with most members, soft anti-affinity the fewest", () => {
    const h1 = host("h1", { groups: { g: 2 } });
    const h2 = host("h2", { groups: { g: 0 } });
    const h3 = host("h3", { groups: { g: 1 } });
    expect(weighHosts([h1, h2, h3], request("s", { group: { id: "g", policy: "soft-affinity" } }))[0].host.node).toBe("h1");
    expect(weighHosts([h1, h2, h3], request("s", { group: { id: "g", policy: "soft-anti-affinity" } }))[0].host.node).toBe("h2");
  });

  it("ties break by node id, so every node ranks the same view the same way", () => {
    expect(weighHosts([host("z"), host("m"), host("b")], request("s")).map((x) => x.host.node)).toEqual(["b", "m", "z"]);
  });

  it("a host with nothing free weighs 0 without dividing by zero", () => {
    const full = host("f", { used: used(32, 16384, 200) });
    expect(weighHosts([full], request("s"))[0].weight).toBe(0);
  });
});
