// Loads the compiled security-group ruleset on this host: one `nft -f` file, so the delete and the
// new tables are one transaction (a guest never sees a half-loaded or missing table).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Runner } from "../run.ts";

export interface SecgroupTable {
  /** Replaces the tables with `ruleset` (the output of compileSecgroups). */
  apply(ruleset: string): Promise<void>;
}

export function nftSecgroupTable(o: { runner: Runner; stateDir: string; netns?: string }): SecgroupTable {
  const opts = { timeoutMs: 10_000, ...(o.netns !== undefined ? { netns: o.netns } : {}) };
  let bridgedIpOn = false;
  return {
    async apply(ruleset) {
      if (!bridgedIpOn) {
        // bridged IP must pass the inet hooks (br_netfilter), where conntrack and the rules are
        await o.runner.run("sysctl", ["-q", "-w", "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"], opts);
        bridgedIpOn = true;
      }
      await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
      const file = join(o.stateDir, "secgroups.nft");
      await writeFile(file, ruleset, { mode: 0o600 });
      await o.runner.run("nft", ["-f", file], opts);
    },
  };
}
