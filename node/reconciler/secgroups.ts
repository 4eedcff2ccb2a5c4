// Security groups on this host: on any change to ports, groups or rules (from the API here or
// replicated from anywhere), recompile the host's nftables ruleset from the local records and load
// it, debounced so a burst of changes is one load. Local records only: it keeps working cut off.
import type { Cancel, Clock } from "../../protocol/clock.ts";
import type { CatalogRecord } from "../../protocol/crdt/lww-map.ts";
import { PORT, SECURITY_GROUP_RULE, SECURITY_GROUP, tapNameFor } from "../../protocol/records.ts";
import { compileSecgroups, type SgInput, type SgPort, type SgRule } from "../../drivers/network/secgroup-nft.ts";
import type { SecgroupTable } from "../../drivers/network/secgroup-table.ts";
import type { ReconcilerLog, ReconcilerStore } from "./types.ts";

const KINDS = new Set([PORT, SECURITY_GROUP, SECURITY_GROUP_RULE]);

const addressesOf = (p: CatalogRecord): string[] => [
  ...((p.fixed_ips as Array<{ ip_address: string }> | undefined) ?? []).map((f) => f.ip_address),
  ...((p.allowed_address_pairs as Array<{ ip_address: string }> | undefined) ?? []).map((a) => a.ip_address),
];
const groupsOf = (p: CatalogRecord): string[] => (Array.isArray(p.security_groups) ? p.security_groups.map(String) : []);

/** The compiler's input from the replicated records: ports bound to `self`, their rules, remote-group members. */
export function secgroupInput(store: Pick<ReconcilerStore, "list">, self: string): SgInput {
  const all = store.list(PORT);
  const local = all.filter((p) => p.binding_host_id === self);
  const ports: SgPort[] = local.map((p) => ({
    id: p.id,
    ifname: tapNameFor(p.id),
    mac: String(p.mac_address),
    ips: ((p.fixed_ips as Array<{ ip_address: string }> | undefined) ?? []).map((f) => f.ip_address),
    allowedPairs: (p.allowed_address_pairs as SgPort["allowedPairs"] | undefined) ?? [],
    portSecurity: p.port_security_enabled !== false,
    securityGroups: groupsOf(p),
  }));
  const wanted = new Set(ports.flatMap((p) => p.securityGroups));
  const rulesByGroup = new Map<string, SgRule[]>();
  for (const r of store.list(SECURITY_GROUP_RULE, (x) => wanted.has(String(x.security_group_id)))) {
    const g = String(r.security_group_id);
    const rule: SgRule = {
      id: r.id,
      direction: r.direction === "egress" ? "egress" : "ingress",
      ethertype: r.ethertype === "IPv6" ? "IPv6" : "IPv4",
      protocol: typeof r.protocol === "string" ? r.protocol : null,
      port_range_min: typeof r.port_range_min === "number" ? r.port_range_min : null,
      port_range_max: typeof r.port_range_max === "number" ? r.port_range_max : null,
      remote_ip_prefix: typeof r.remote_ip_prefix === "string" ? r.remote_ip_prefix : null,
      remote_group_id: typeof r.remote_group_id === "string" ? r.remote_group_id : null,
    };
    rulesByGroup.set(g, [...(rulesByGroup.get(g) ?? []), rule]);
  }
  const membersByGroup = new Map<string, string[]>();
  for (const p of all) for (const g of groupsOf(p)) membersByGroup.set(g, [...(membersByGroup.get(g) ?? []), ...addressesOf(p)]);
  return { ports, rulesByGroup, membersByGroup };
}

export interface SecgroupEnforcer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Compiles and loads now (if the text changed); resolves when loaded. */
  sync(): Promise<void>;
}

export function secgroupEnforcer(init: { debounceMs?: number } = {}): (c: { self: string; clock: Clock; store: ReconcilerStore; table: SecgroupTable; log?: ReconcilerLog }) => SecgroupEnforcer {
  return (c) => {
    let loaded: string | undefined;
    let timer: Cancel | undefined;
    let unsubscribe: (() => void) | undefined;
    let tail: Promise<void> = Promise.resolve();
    const sync = (): Promise<void> => {
      const next = tail.then(async () => {
        const text = compileSecgroups(secgroupInput(c.store, c.self));
        if (text === loaded) return;
        await c.table.apply(text);
        loaded = text;
      });
      tail = next.catch((err) => c.log?.warn({ err: err instanceof Error ? err.message : String(err) }, "security group load failed"));
      return next;
    };
    return {
      async start() {
        unsubscribe = c.store.onChange(({ delta }) => {
          if (!KINDS.has(delta.kind) || timer) return;
          timer = c.clock.schedule(init.debounceMs ?? 50, () => {
            timer = undefined;
            void sync().catch(() => undefined);
          });
        });
        await sync();
      },
      async stop() {
        unsubscribe?.();
        timer?.();
        await tail;
      },
      sync,
    };
  };
}
