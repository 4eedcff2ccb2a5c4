// The agent's data dir and the dirs under it that hold tenants' and users' data (catalog: password
// hashes, user_data; images; instances: fw_cfg user_data, consoles; volumes) are the agent user's alone.
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** Dirs under the data dir made 0700 at every start (also fixing an older install's 0755). */
export const PRIVATE_SUBDIRS = ["catalog", "images", "instances", "storage"] as const;

export function makePrivateDirs(dataDir: string): void {
  for (const dir of [dataDir, ...PRIVATE_SUBDIRS.map((d) => join(dataDir, d))]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
}
