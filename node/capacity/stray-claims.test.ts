import { describe, expect, it } from "vitest";
import { request } from "../../protocol/placement/testing.ts";
import { Ledger } from "./ledger.ts";
import { strayClaims, strayReason, type ServerView } from "./stray-claims.ts";

const res = { vcpus: 1, ramMb: 512, diskGb: 1 };

function claimed(ids: string[], attempt = 1): Ledger {
  const l = new Ledger({ node: "h1", total: { vcpus: 8, ramMb: 8192, diskGb: 100 } });
  for (const id of ids) {
    expect(l.hold(request(id, { resources: res }), attempt, 0, 1000).ok).toBe(true);
    expect(l.claim(id, attempt, 1)).toBe("claimed");
  }
  return l;
}

describe("stray-claim rule", () => {
  it.each<[string, ServerView | undefined, boolean, string | undefined]>([
    ["record names this host", { host: "h1", placement_attempt: 1, status: "BUILD" }, false, undefined],
    ["record not seen yet", undefined, false, undefined],
    ["record still scheduling (host null)", { host: null, status: "BUILD" }, false, undefined],
    ["ERROR on this host (a failed build) stays", { host: "h1", placement_attempt: 1, status: "ERROR" }, false, undefined],
    ["record names another host", { host: "h2", placement_attempt: 1 }, false, "other-host"],
    ["record has a higher attempt", { host: "h1", placement_attempt: 2 }, false, "newer-attempt"],
    ["ERROR without a host (front gave up)", { host: null, status: "ERROR" }, false, "error-unplaced"],
    ["record tombstoned", undefined, true, "deleted"],
    ["record marked DELETED", { host: "h1", status: "DELETED" }, false, "deleted"],
  ])("%s", (_what, record, tombstoned, expected) => {
    expect(strayReason("h1", 1, record, tombstoned)).toBe(expected);
  });

  it("check releases the claim a record contradicts and leaves the others", () => {
    const l = claimed(["a", "b", "c"]);
    const records: Record<string, ServerView> = { a: { host: "h1", placement_attempt: 1 }, b: { host: "h2", placement_attempt: 1 }, c: { host: null, status: "BUILD" } };
    const released: string[] = [];
    const rule = strayClaims({ self: "h1", ledger: l, lookup: (id) => ({ record: records[id], tombstoned: false }), onRelease: (id, why) => released.push(`${id}:${why}`) });
    expect(rule.check("a")).toBeUndefined();
    expect(rule.check("b")).toBe("other-host");
    expect(rule.check("c")).toBeUndefined();
    expect(released).toEqual(["b:other-host"]);
    expect(l.claimsList().map((x) => x.serverId).sort()).toEqual(["a", "c"]);
    expect(l.usage()).toEqual({ vcpus: 2, ramMb: 1024, diskGb: 2 });
    // The front node gives up on c later: its ERROR record frees the claim.
    records.c = { host: null, status: "ERROR" };
    expect(rule.check("c")).toBe("error-unplaced");
    expect(rule.check("zzz")).toBeUndefined(); // no claim: nothing to do
  });

  it("sweep applies the rule to every claim", () => {
    const l = claimed(["a", "b", "c", "d"]);
    const records: Record<string, ServerView> = { a: { host: "h3" }, b: { host: "h1", placement_attempt: 4 }, d: { host: "h1", placement_attempt: 1 } };
    const rule = strayClaims({ self: "h1", ledger: l, lookup: (id) => ({ record: records[id], tombstoned: id === "c" }) });
    expect(rule.sweep()).toBe(3);
    expect(l.claimsList().map((x) => x.serverId)).toEqual(["d"]);
    expect(rule.sweep()).toBe(0);
  });
});
