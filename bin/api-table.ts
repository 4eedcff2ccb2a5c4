// Prints the API compatibility table derived from the registered routes, or with --write puts it
// into docs/api-compatibility.md (between its generated markers). api-gateway/compat-table.test.ts
// checks the document against the routes.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { actionNames, apiSurface, microversionUses, renderCompatTable, withTable } from "../api-gateway/compat-table.ts";

const ROOT = resolve(import.meta.dirname, "..");
export const DOC = join(ROOT, "docs/api-compatibility.md");

/** The table for the current code. */
export async function currentTable(): Promise<string> {
  const dir = join(ROOT, "api-gateway/compute");
  const sources = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => [`api-gateway/compute/${f}`, readFileSync(join(dir, f), "utf8")]));
  return renderCompatTable(await apiSurface(), microversionUses(sources), actionNames(sources["api-gateway/compute/server-actions.ts"] ?? ""));
}

if (import.meta.main) {
  const table = await currentTable();
  if (process.argv.includes("--write")) {
    writeFileSync(DOC, withTable(readFileSync(DOC, "utf8"), table));
    process.stdout.write(`wrote ${DOC}\n`);
  } else process.stdout.write(table);
}
