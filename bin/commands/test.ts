// `peerstack test [vitest args]`: typecheck + lint + every test, then one closing count line.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInherit } from "./exec.ts";

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

export async function run(args: string[]): Promise<number> {
  const onlyTests = args.includes("--no-check");
  const vitestArgs = args.filter((a) => a !== "--no-check");
  if (!onlyTests) {
    process.stderr.write("peerstack test: typecheck (tsc --noEmit)\n");
    if ((await runInherit("tsc", ["--noEmit", "-p", "tsconfig.json"])) !== 0) return fail("typecheck failed");
    process.stderr.write("peerstack test: lint (eslint)\n");
    if ((await runInherit("eslint", ["."])) !== 0) return fail("lint failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "peerstack-test-"));
  const report = join(dir, "vitest.json");
  const code = await runInherit("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...vitestArgs]);
  try {
    const r = JSON.parse(readFileSync(report, "utf8")) as VitestJson;
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
  } catch {
    console.log("tests: 0 passed, 1 failed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return code;
}

function fail(what: string): number {
  process.stderr.write(`peerstack test: ${what}\n`);
  console.log("tests: 0 passed, 1 failed");
  return 1;
}
