// `peerstack bench <name>`: runs bench/<name>.bench.ts, which prints its own figures.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runInherit } from "./exec.ts";

const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench");

export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const known = readdirSync(benchDir).filter((f) => f.endsWith(".bench.ts")).map((f) => f.replace(/\.bench\.ts$/, ""));
  if (!name || !known.includes(name)) {
    process.stderr.write(`usage: peerstack bench <${known.join("|") || "none yet"}> [args]\n`);
    return 2;
  }
  const file = join(benchDir, `${name}.bench.ts`);
  if (!existsSync(file)) return 2;
  return runInherit(process.execPath, ["--disable-warning=ExperimentalWarning", file, ...rest]);
}
