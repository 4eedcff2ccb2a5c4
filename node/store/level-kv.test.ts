import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kvContract } from "./kv.contract.ts";
import { LevelKv } from "./level-kv.ts";

let dirs: string[] = [];

kvContract("LevelKv", {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), "psstore-kv-"));
    dirs.push(dir);
    return LevelKv.open(dir);
  },
  async reopen(kv) {
    const location = (kv as LevelKv).location;
    await kv.close();
    return LevelKv.open(location);
  },
  async cleanup() {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  },
});
