import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatSummary, reasonOf, summarise, testKey } from "./results.ts";
import { GAPS, tempestConf } from "./tempest-conf.ts";

const ID = "tempest.api.compute.servers.test_servers.ServersTestJSON.test_create[id-5de47127-9977-400a-936f-abcfbec1218f,smoke]";

describe("conformance results", () => {
  it("keys a test by name and idempotent id, whatever other attributes tempest adds", () => {
    expect(testKey(ID)).toBe("tempest.api.compute.servers.test_servers.ServersTestJSON.test_create[id-5de47127-9977-400a-936f-abcfbec1218f]");
  });

  it("a schema failure reads as one line naming the exception and the validation message", () => {
    const details = "Traceback (most recent call last):\n  File x\ntempest.lib.exceptions.InvalidHTTPResponseBody: HTTP response body is invalid json or xml\nDetails: HTTP response body is invalid (Additional properties are not allowed ('name' was unexpected))";
    expect(reasonOf({ id: ID, status: "fail", seconds: 1, details })).toBe("InvalidHTTPResponseBody: HTTP response body is invalid json or xml Details: HTTP response body is invalid (Additional properties are not allowed ('name' was unexpected))");
  });

  it("per area: a class skipped whole counts its tests as skipped, a failed setUpClass as failed", () => {
    const expected = [testKey(ID), "tempest.api.identity.admin.v2.test_users.UsersTestJSON.test_x[id-1]", "tempest.api.image.v2.test_images.ImagesTest.test_y[id-2]"];
    const areas = summarise([
      { id: ID, status: "success", seconds: 1, details: "" },
      { id: "setUpClass (tempest.api.identity.admin.v2.test_users.UsersTestJSON)", status: "skip", seconds: 0, details: "Identity api v2 is not enabled" },
      { id: "setUpClass (tempest.api.image.v2.test_images.ImagesTest)", status: "fail", seconds: 0, details: "tempest.lib.exceptions.NotFound: Object not found" },
    ], expected);
    expect(formatSummary(areas, 3)).toContain("identity: 0 passed, 0 failed, 1 skipped\nimage: 0 passed, 1 failed, 0 skipped\n  FAIL tempest.api.image.v2.test_images.ImagesTest.test_y[id-2]\n       setUpClass: NotFound: Object not found\ncompute: 1 passed, 0 failed, 0 skipped\ntotal: 1 passed, 1 failed, 1 skipped in 3 s");
  });
});

describe("tempest.conf", () => {
  const conf = tempestConf(
    { base: "http://n1:8774", username: "admin", password: "pw", project: "admin", region: "RegionOne", token: "t" },
    { imageRef: "i1", imageRefAlt: "i2", flavorRef: "f1", flavorRefAlt: "f2", network: "shared", networkExtensions: ["port-security", "quotas"] },
    "/tmp/tempest.log",
  );

  it("every False is a named gap, and every gap is in docs/api-compatibility.md", () => {
    let section = "";
    const falses: string[] = [];
    for (const line of conf.split("\n")) {
      const s = /^\[(.+)\]$/.exec(line);
      if (s) section = s[1]!;
      const o = /^(\S+) = False$/.exec(line);
      if (o) falses.push(`${section}.${o[1]}`);
    }
    expect(falses.sort()).toEqual(Object.keys(GAPS).sort());
    const doc = readFileSync(new URL("../../docs/api-compatibility.md", import.meta.url), "utf8");
    for (const key of Object.keys(GAPS)) expect(doc, key).toContain(`\`${key}\``);
  });

  it("points Tempest at the node's Keystone v3 with the admin for dynamic credentials", () => {
    expect(conf).toContain("[identity]\nuri_v3 = http://n1:8774/identity/v3\n");
    expect(conf).toMatch(/\[auth\]\nuse_dynamic_credentials = True\nadmin_username = admin\nadmin_password = pw\n/);
    expect(conf).toContain("fixed_network_name = shared");
  });
});
