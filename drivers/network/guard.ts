// Keeps tenants off the host: the host has an address on a tenant bridge only for its dnsmasq, so
// from tenant bridges it accepts DHCP and nothing else. One nftables table, replaced atomically.
// (No forward-hook rule: where br_netfilter is loaded, bridged tenant traffic passes the inet forward
// hook with the bridge as in/out device, so such a rule would cut the tenant network itself.
// Routing through the host is switched off per bridge instead: net.ipv4.conf.<bridge>.forwarding=0.)

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Runner } from "../run.ts";

const TABLE = "peerstack_net";
const TAG = "peerstack-net-v2";
const RULES = 2;

export const GUARD_RULESET = `table inet ${TABLE}
delete table inet ${TABLE}
table inet ${TABLE} {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "psbr-*" udp dport 67 accept comment "${TAG}"
    iifname "psbr-*" drop comment "${TAG}"
  }
}
`;

export class Guard {
  private readonly runner: Runner;
  private readonly opts: { timeoutMs: number; netns?: string };
  private readonly stateDir: string;

  constructor(o: { runner: Runner; netns?: string; stateDir: string }) {
    this.runner = o.runner;
    this.opts = { timeoutMs: 10_000 };
    if (o.netns !== undefined) this.opts.netns = o.netns;
    this.stateDir = o.stateDir;
  }

  /** `nft -j list table inet peerstack_net`: how many of our rules are loaded (0 if no table). */
  private async loaded(): Promise<number> {
    try {
      const out = (await this.runner.run("nft", ["-j", "list", "table", "inet", TABLE], this.opts)).stdout;
      const items = (JSON.parse(out) as { nftables: Array<{ rule?: { comment?: string } }> }).nftables;
      return items.filter((i) => i.rule?.comment === TAG).length;
    } catch {
      return 0;
    }
  }

  /** Loads the table unless it is already there, complete. */
  async ensure(): Promise<void> {
    if ((await this.loaded()) === RULES) return;
    const file = join(this.stateDir, "guard.nft");
    await writeFile(file, GUARD_RULESET);
    await this.runner.run("nft", ["-f", file], this.opts);
  }

  /** `nft delete table inet peerstack_net` if it exists. */
  async remove(): Promise<void> {
    if ((await this.loaded()) === 0) return;
    await this.runner.run("nft", ["delete", "table", "inet", TABLE], this.opts);
  }
}
