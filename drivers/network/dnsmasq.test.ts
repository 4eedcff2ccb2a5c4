import { describe, expect, it } from "vitest";
import { parseCidr } from "./dnsmasq.ts";
import { NetworkInvalidError } from "./errors.ts";
import { checkIfname, checkIpv4, checkMac, checkVni } from "./validate.ts";

describe("parseCidr", () => {
  it("table", () => {
    expect(parseCidr("10.0.0.0/24", ["10.0.0.1", "10.0.0.254"])).toEqual({ network: "10.0.0.0", netmask: "255.255.255.0", prefix: 24 });
    expect(parseCidr("10.0.0.77/24", [])).toEqual({ network: "10.0.0.0", netmask: "255.255.255.0", prefix: 24 }); // host bits dropped
    expect(parseCidr("172.16.4.0/22", ["172.16.7.254"])).toEqual({ network: "172.16.4.0", netmask: "255.255.252.0", prefix: 22 });
    expect(parseCidr("192.168.1.8/30", ["192.168.1.9", "192.168.1.10"]).netmask).toBe("255.255.255.252");
  });
  it("rejects bad subnets and addresses outside or on the edges of the subnet", () => {
    for (const [cidr, inside] of [
      ["10.0.0.0", []],
      ["10.0.0.0/31", []],
      ["10.0.0.0/4", []],
      ["10.0.0.0/24", ["10.0.1.1"]],
      ["10.0.0.0/24", ["10.0.0.0"]], // network address
      ["10.0.0.0/24", ["10.0.0.255"]], // broadcast
      ["10.0.0.0/24", ["10.0.0.x"]],
    ] as Array<[string, string[]]>) {
      expect(() => parseCidr(cidr, inside), `${cidr} ${inside}`).toThrow(NetworkInvalidError);
    }
  });
});

describe("validate", () => {
  it("table", () => {
    expect(() => checkVni(1)).not.toThrow();
    expect(() => checkVni(16_777_215)).not.toThrow();
    for (const v of [0, 16_777_216, 1.5, -3]) expect(() => checkVni(v)).toThrow(NetworkInvalidError);
    expect(() => checkMac("52:54:00:ab:cd:ef", "t")).not.toThrow();
    for (const m of ["52:54:00:AB:CD:EF", "52:54:00:ab:cd", "525400abcdef", ""]) expect(() => checkMac(m, "t")).toThrow(NetworkInvalidError);
    expect(() => checkIfname("pstap-0123456789", "t")).toThrow(NetworkInvalidError); // 16 chars
    expect(() => checkIfname("pstap-012345678", "t")).not.toThrow();
    for (const n of ["", "a b", "a/b", "tap;rm"]) expect(() => checkIfname(n, "t")).toThrow(NetworkInvalidError);
    expect(() => checkIpv4("10.200.0.1", "t")).not.toThrow();
    for (const ip of ["10.200.0", "256.1.1.1", "10.0.0.1/24", "::1"]) expect(() => checkIpv4(ip, "t")).toThrow(NetworkInvalidError);
  });
});
