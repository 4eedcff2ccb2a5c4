import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { currentTable, DOC } from "../bin/api-table.ts";
import { actionNames, apiSurface, microversionUses, renderCompatTable, TABLE_BEGIN, TABLE_END, withTable } from "./compat-table.ts";

describe("API compatibility table", () => {
  it("docs/api-compatibility.md lists exactly the routes the gateway registers (regenerate: node bin/api-table.ts --write)", async () => {
    const doc = readFileSync(DOC, "utf8");
    expect(doc, "the generated block is stale: run node bin/api-table.ts --write").toBe(withTable(doc, await currentTable()));
  });

  it("every registered route has a row, and the services' main routes are there", async () => {
    const routes = await apiSurface();
    const table = renderCompatTable(routes, []);
    for (const r of routes) expect(table).toContain(`| ${r.method} | \`${r.url.replace(/:(\w+)/g, "{$1}")}\` |`);
    for (const row of ["| POST | `/compute/v2.1/servers` | token |", "| POST | `/identity/v3/auth/tokens` | public |", "| PUT | `/image/v2/images/{id}/file` | token |", "| POST | `/networking/v2.0/ports` | token |"]) expect(table).toContain(row);
    expect(table.match(/^\| (GET|HEAD|POST|PUT|PATCH|DELETE) \|/gm)?.length).toBe(routes.length);
  });

  it("microversion uses and server actions are read from the source", () => {
    expect(microversionUses({ "a.ts": "if (atLeast(req, 37)) x; atLeast( req , 2 )", "b.ts": "none" })).toEqual([{ file: "a.ts", versions: [37, 2] }]);
    expect(renderCompatTable([], [{ file: "a.ts", versions: [37, 2, 37] }])).toContain("| `a.ts` | 2.2, 2.37 |");
    expect(actionNames(`case "os-stop":\n case "reboot": {\n case "os-stop":`)).toEqual(["os-stop", "reboot"]);
    expect(() => withTable("no markers", "x")).toThrow(/generated block/);
    expect(withTable(`a\n${TABLE_BEGIN}\nold\n${TABLE_END}\nb`, "new")).toBe(`a\n${TABLE_BEGIN}\n\nnew\n${TABLE_END}\nb`);
  });
});
