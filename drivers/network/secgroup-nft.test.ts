import { describe, expect, it } from "vitest";
import { compileSecgroups, ruleMatch, type SgInput, type SgPort, type SgRule } from "./secgroup-nft.ts";

const rule = (o: Partial<SgRule>): SgRule => ({ id: "r", direction: "ingress", ethertype: "IPv4", protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: null, ...o });
const port = (o: Partial<SgPort>): SgPort => ({ id: "pa", ifname: "tapa", mac: "fa:16:3e:00:00:01", ips: ["10.9.0.1"], allowedPairs: [], portSecurity: true, securityGroups: ["g1"], ...o });
const compile = (ports: SgPort[], rules: SgRule[], members: string[] = []): string =>
  compileSecgroups({ ports, rulesByGroup: new Map([["g1", rules]]), membersByGroup: new Map([["g1", members]]) } satisfies SgInput);
const chain = (text: string, name: string) => text.split(`chain ${name} {`)[1]!.split("\n  }")[0]!;

describe("security group rule matches", () => {
  const set = (g: string, v6: boolean) => `rg_${g}_${v6 ? 6 : 4}`;
  it("tcp port range from a prefix", () => {
    expect(ruleMatch(rule({ protocol: "tcp", port_range_min: 1000, port_range_max: 2000, remote_ip_prefix: "10.0.0.0/8" }), set)).toBe("ether type ip ip saddr 10.0.0.0/8 ip protocol 6 tcp dport 1000-2000");
  });
  it("a single port is not a range; egress matches the destination", () => {
    expect(ruleMatch(rule({ direction: "egress", protocol: "udp", port_range_min: 53, port_range_max: 53 }), set)).toBe("ether type ip ip protocol 17 udp dport 53");
  });
  it("icmp type and code from port_range_min/max", () => {
    expect(ruleMatch(rule({ protocol: "icmp", port_range_min: 8, port_range_max: 0 }), set)).toBe("ether type ip ip protocol 1 icmp type 8 icmp code 0");
    expect(ruleMatch(rule({ ethertype: "IPv6", protocol: "icmpv6", port_range_min: 128 }), set)).toBe("ether type ip6 ip6 nexthdr 58 icmpv6 type 128");
  });
  it("remote group is a named set per family; /0 matches anything; numeric protocols", () => {
    expect(ruleMatch(rule({ remote_group_id: "g2" }), set)).toBe("ether type ip ip saddr @rg_g2_4");
    expect(ruleMatch(rule({ ethertype: "IPv6", remote_group_id: "g2", direction: "egress" }), set)).toBe("ether type ip6 ip6 daddr @rg_g2_6");
    expect(ruleMatch(rule({ remote_ip_prefix: "0.0.0.0/0", protocol: "47" }), set)).toBe("ether type ip ip protocol 47");
  });
  it("a rule that can never match is left out (IPv6 rule with an IPv4 prefix, unknown name)", () => {
    expect(ruleMatch(rule({ ethertype: "IPv6", remote_ip_prefix: "10.0.0.0/8" }), set)).toBeUndefined();
    expect(ruleMatch(rule({ protocol: "bogus" }), set)).toBeUndefined();
  });
});

describe("compileSecgroups", () => {
  it("replaces both tables in one file (create-then-delete keeps the first load from failing)", () => {
    const t = compile([port({})], []);
    expect(t.startsWith("table bridge peerstack_sg\ndelete table bridge peerstack_sg\ntable inet peerstack_sg\ndelete table inet peerstack_sg\n")).toBe(true);
  });
  it("default deny: a port with no rules drops at the end of both chains, replies pass by conntrack", () => {
    const t = compile([port({})], []);
    expect(chain(t, "ingress_0").trim().split("\n").at(-1)).toContain("drop");
    expect(chain(t, "egress_0").trim().split("\n").at(-1)).toContain("drop");
    expect(t).toMatch(/ct state established,related accept\n {4}ct state invalid drop\n {4}meta mark and 0x0000ffff vmap \{ 0x00000001 : jump egress_0 \}\n {4}meta mark and 0xffff0000 vmap \{ 0x00010000 : jump ingress_0 \}/);
  });
  it("ingress rules accept, egress rules return (so the receiving port's ingress still runs)", () => {
    const t = compile([port({})], [rule({ id: "a", protocol: "tcp", port_range_min: 22, port_range_max: 22 }), rule({ id: "b", direction: "egress" })]);
    expect(chain(t, "ingress_0")).toContain('ether type ip ip protocol 6 tcp dport 22 accept comment "a"');
    expect(chain(t, "egress_0")).toContain('ether type ip return comment "b"');
  });
  it("anti-spoofing: only the port's MAC, fixed IPs and allowed pairs; no DHCP or RA server; ARP checked", () => {
    const t = compile([port({ allowedPairs: [{ ip_address: "10.9.5.0/24", mac_address: "FA:16:3E:00:00:99" }] })], []);
    const s = chain(t, "spoof_0");
    expect(s).toContain("ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:99 } drop");
    expect(s).toContain("arp saddr ether != { fa:16:3e:00:00:01, fa:16:3e:00:00:99 } drop");
    expect(s).toContain("arp saddr ip != { 0.0.0.0, 10.9.0.1, 10.9.5.0/24 } drop");
    expect(s).toContain("ip saddr != { 10.9.0.1, 10.9.5.0/24 } drop");
    expect(s).toContain("udp sport 67 drop");
    expect(s).toContain("icmpv6 type nd-router-advert drop");
    expect(s.indexOf("udp sport 67 drop")).toBeLessThan(s.indexOf("ip saddr 0.0.0.0 udp sport 68"));
  });
  it("a port with no address may send nothing from an IPv4 source but DHCP", () => {
    expect(chain(compile([port({ ips: [] })], []), "spoof_0")).toContain("ip saddr != { 255.255.255.255 } drop");
  });
  it("remote-group members become one named set, with IPv4 and IPv6 apart", () => {
    const t = compile([port({})], [rule({ id: "a", remote_group_id: "g1" }), rule({ id: "b", ethertype: "IPv6", remote_group_id: "g1" })], ["10.9.0.2", "10.9.0.1", "fd00::1"]);
    expect(t).toContain("set rg0_4 { type ipv4_addr; flags interval; auto-merge; elements = { 10.9.0.1, 10.9.0.2 }; }");
    expect(t).toContain("set rg1_6 { type ipv6_addr; flags interval; auto-merge; elements = { fd00::1 }; }");
    expect(chain(t, "ingress_0")).toContain("ip saddr @rg0_4 accept");
  });
  it("port_security_enabled=false: the port has no chains and no vmap entry", () => {
    const t = compile([port({ portSecurity: false })], [rule({})]);
    expect(t).not.toContain("spoof_0");
    expect(t).not.toContain("tapa");
  });
  it("ports are indexed by device name, whatever order the records come in (same text, no reload)", () => {
    const a = port({ id: "pa", ifname: "tapa" });
    const b = port({ id: "pb", ifname: "tapb", mac: "fa:16:3e:00:00:02", ips: ["10.9.0.2"] });
    expect(compile([a, b], [])).toBe(compile([b, a], []));
    expect(compile([b, a], [])).toContain('iifname vmap { "tapa" : jump spoof_0, "tapb" : jump spoof_1 }');
  });
});
