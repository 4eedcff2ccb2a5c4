// Security groups and port security as one nftables ruleset, compiled from replicated records only.
// Two tables in one `nft -f` transaction (atomic): `bridge peerstack_sg` checks what each port sends
// (MAC, IP, ARP, no DHCP/RA server) and marks the frame with its in-port and out-port indexes;
// `inet peerstack_sg` (bridged IP through br_netfilter, where conntrack lives: bridge-family `ct`
// needs nf_conntrack_bridge, which not every kernel has) applies the group rules statefully by mark.

export interface SgRule {
  id: string;
  direction: "ingress" | "egress";
  ethertype: "IPv4" | "IPv6";
  /** null = any; a name (tcp, udp, icmp, icmpv6, sctp, …) or a number 0–255. */
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

export interface SgPort {
  id: string;
  /** The port's device on this host's bridge (tap or veth). */
  ifname: string;
  mac: string;
  ips: string[];
  allowedPairs: Array<{ ip_address: string; mac_address?: string }>;
  portSecurity: boolean;
  securityGroups: string[];
}

export interface SgInput {
  /** Ports bound to this host. */
  ports: SgPort[];
  /** Rules by security group id (groups of the local ports). */
  rulesByGroup: Map<string, SgRule[]>;
  /** Member addresses (fixed IPs + allowed pairs, every host) by security group id. */
  membersByGroup: Map<string, string[]>;
}

export const SG_TABLE = "peerstack_sg";
const PROTO_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, gre: 47, esp: 50, ah: 51 };
const PORTED = new Set([6, 17, 132]);
const PORTED_NAME: Record<number, string> = { 6: "tcp", 17: "udp", 132: "sctp" };

const isV6 = (ip: string) => ip.includes(":");
const list = (items: string[]) => `{ ${items.join(", ")} }`;
const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/** The in-port index sits in the low 16 bits of the mark, the out-port index in the high 16. */
const inMark = (i: number) => i + 1;
const outMark = (i: number) => (i + 1) << 16;

function protoNumber(p: string | null): number | null {
  if (p === null || p === "any") return null;
  if (/^\d+$/.test(p)) return Number(p);
  return PROTO_NUMBERS[p === "ipv6_icmp" ? "icmpv6" : p] ?? null;
}

/** One rule's match, or undefined when it can never match (e.g. an IPv6 rule naming an IPv4 prefix). */
export function ruleMatch(r: SgRule, setOf: (group: string, v6: boolean) => string): string | undefined {
  const v6 = r.ethertype === "IPv6";
  const parts = [v6 ? "ether type ip6" : "ether type ip"];
  const addr = `${v6 ? "ip6" : "ip"} ${r.direction === "ingress" ? "saddr" : "daddr"}`;
  if (r.remote_ip_prefix !== null) {
    if (isV6(r.remote_ip_prefix) !== v6) return undefined;
    if (!/\/0$/.test(r.remote_ip_prefix)) parts.push(`${addr} ${r.remote_ip_prefix}`);
  } else if (r.remote_group_id !== null) {
    parts.push(`${addr} @${setOf(r.remote_group_id, v6)}`);
  }
  const proto = protoNumber(r.protocol);
  if (r.protocol !== null && r.protocol !== "any" && proto === null) return undefined;
  if (proto !== null) {
    parts.push(`${v6 ? "ip6 nexthdr" : "ip protocol"} ${proto}`);
    const icmp = proto === (v6 ? 58 : 1);
    if (icmp && r.port_range_min !== null) {
      const kw = v6 ? "icmpv6" : "icmp";
      parts.push(`${kw} type ${r.port_range_min}`);
      if (r.port_range_max !== null) parts.push(`${kw} code ${r.port_range_max}`);
    } else if (PORTED.has(proto) && r.port_range_min !== null) {
      const max = r.port_range_max ?? r.port_range_min;
      parts.push(`${PORTED_NAME[proto]} dport ${max === r.port_range_min ? r.port_range_min : `${r.port_range_min}-${max}`}`);
    }
  }
  return parts.join(" ");
}

/** Stateless checks of what the port sends (bridge family): its MAC, its addresses, no DHCP/RA server. */
function spoofChain(p: SgPort, i: number): string[] {
  const macs = [...new Set([p.mac, ...p.allowedPairs.map((a) => a.mac_address).filter((m): m is string => !!m)].map((m) => m.toLowerCase()))];
  const addrs = [...p.ips, ...p.allowedPairs.map((a) => a.ip_address)];
  const v4 = [...new Set(addrs.filter((a) => !isV6(a)))];
  const v6 = [...new Set(addrs.filter(isV6))];
  const out = [`  chain spoof_${i} {`, `    ether saddr != ${list(macs)} drop`];
  out.push(`    ether type arp arp saddr ether != ${list(macs)} drop`);
  // 0.0.0.0: ARP probes (RFC 5227) and DHCP discovers come from no address yet.
  out.push(`    ether type arp arp saddr ip != ${list(["0.0.0.0", ...v4])} drop`);
  out.push(`    ether type ip udp sport 67 drop comment "a DHCP server in a guest"`);
  out.push(`    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 meta mark set ${hex(inMark(i))} return`);
  out.push(`    ether type ip ip saddr != ${list(v4.length ? v4 : ["255.255.255.255"])} drop`);
  out.push(`    ether type ip6 udp sport 547 drop comment "a DHCPv6 server in a guest"`);
  out.push(`    ether type ip6 icmpv6 type nd-router-advert drop`);
  out.push(`    ether type ip6 ip6 saddr != ${list(["::", "fe80::/10", ...v6])} drop`);
  out.push(`    ether type != { ip, ip6, arp } drop`);
  out.push(`    meta mark set ${hex(inMark(i))}`);
  out.push("  }");
  return out;
}

/** The group rules of one port (inet family): egress returns on allow, ingress accepts; else drop. */
function ruleChains(p: SgPort, i: number, input: SgInput, setOf: (group: string, v6: boolean) => string): string[] {
  const rules = p.securityGroups.flatMap((g) => input.rulesByGroup.get(g) ?? []).sort((a, b) => a.id.localeCompare(b.id));
  const eg = [`  chain egress_${i} {`, `    udp sport 68 udp dport 67 return comment "DHCP client"`];
  const ing = [`  chain ingress_${i} {`, `    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query } accept`];
  for (const r of rules) {
    const m = ruleMatch(r, setOf);
    if (m === undefined) continue;
    if (r.direction === "egress") eg.push(`    ${m} return comment "${r.id}"`);
    else ing.push(`    ${m} accept comment "${r.id}"`);
  }
  eg.push(`    drop comment "port ${p.id}: no egress rule"`, "  }");
  ing.push(`    drop comment "port ${p.id}: no ingress rule"`, "  }");
  return [...eg, ...ing];
}

/** The whole ruleset text for `nft -f`: deletes and re-creates both tables in one transaction. */
export function compileSecgroups(input: SgInput): string {
  const ports = input.ports.filter((p) => p.portSecurity).sort((a, b) => a.ifname.localeCompare(b.ifname));
  const sets = new Map<string, string>();
  const setOf = (group: string, v6: boolean) => {
    const key = `${group}/${v6 ? 6 : 4}`;
    let name = sets.get(key);
    if (!name) sets.set(key, (name = `rg${sets.size}_${v6 ? 6 : 4}`));
    return name;
  };
  const inetChains = ports.flatMap((p, i) => ruleChains(p, i, input, setOf));
  const setDecls = [...sets].map(([key, name]) => {
    const [group, fam] = key.split("/");
    const v6 = fam === "6";
    const members = [...new Set((input.membersByGroup.get(group!) ?? []).filter((a) => isV6(a) === v6))].sort();
    const elements = members.length ? ` elements = ${list(members)};` : "";
    return `  set ${name} { type ${v6 ? "ipv6_addr" : "ipv4_addr"}; flags interval; auto-merge;${elements} }`;
  });
  const vmapIn = ports.map((p, i) => `"${p.ifname}" : jump spoof_${i}`);
  const vmapOut = ports.map((p, i) => `"${p.ifname}" : jump mark_out_${i}`);
  const bridge = [
    `table bridge ${SG_TABLE} {`,
    ...ports.flatMap((p, i) => spoofChain(p, i)),
    ...ports.flatMap((p, i) => [`  chain mark_out_${i} {`, `    meta mark set meta mark or ${hex(outMark(i))}`, "  }"]),
    "  chain forward {",
    "    type filter hook forward priority -200; policy accept;",
    // frames from the VXLAN device or an unfiltered port carry no in-port index
    "    meta mark set 0",
    ...(ports.length ? [`    iifname vmap ${list(vmapIn)}`, `    oifname vmap ${list(vmapOut)}`] : []),
    "  }",
    "  chain input {",
    "    type filter hook input priority -200; policy accept;",
    ...(ports.length ? [`    iifname vmap ${list(vmapIn)}`] : []),
    "  }",
    "}",
  ];
  const inVmap = ports.map((_, i) => `${hex(inMark(i))} : jump egress_${i}`);
  const outVmap = ports.map((_, i) => `${hex(outMark(i))} : jump ingress_${i}`);
  const inet = [
    `table inet ${SG_TABLE} {`,
    ...setDecls,
    ...inetChains,
    "  chain forward {",
    "    type filter hook forward priority 0; policy accept;",
    "    meta mark 0 accept",
    "    ct state established,related accept",
    "    ct state invalid drop",
    ...(ports.length ? [`    meta mark and 0x0000ffff vmap ${list(inVmap)}`, `    meta mark and 0xffff0000 vmap ${list(outVmap)}`] : []),
    "  }",
    "}",
  ];
  return [`table bridge ${SG_TABLE}`, `delete table bridge ${SG_TABLE}`, `table inet ${SG_TABLE}`, `delete table inet ${SG_TABLE}`, ...bridge, ...inet, ""].join("\n");
}
