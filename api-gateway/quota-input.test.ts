// Quota limits from clients: 1e300 (an integer to Number.isInteger) and other non-limits are refused,
// and through Nova's os-quota-sets the refusal is a 400 in Nova's body, not a 5xx.
import { describe, expect, it } from "vitest";
import { quotaLimit } from "./quota-input.ts";
import { testGateway } from "./testing/fixture.ts";

describe("quota limits from clients", () => {
  it("accepts -1..2^31-1 as numbers or decimal strings, nothing else", () => {
    for (const ok of [-1, 0, 5, "7", "-1", 2147483647]) expect(quotaLimit(ok)).toBe(Number(ok));
    for (const bad of [1e300, 2147483648, -2, 1.5, "1e3", "", " 1", null, true, [], {}, Number.NaN, Infinity, "99999999999"]) expect(quotaLimit(bad), JSON.stringify(bad)).toBeUndefined();
  });

  it("Nova PUT os-quota-sets with 1e300 is 400 badRequest", async () => {
    const g = await testGateway();
    try {
      const res = await g.app.inject({ method: "PUT", url: `/compute/v2.1/os-quota-sets/${g.boot.adminProjectId}`, headers: { "x-auth-token": await g.token(), "content-type": "application/json" }, payload: '{"quota_set":{"instances":1e300}}' });
      expect(res.statusCode).toBe(400);
      expect(res.json().badRequest.message).toMatch(/instances/);
    } finally {
      await g.close();
    }
  });
});
