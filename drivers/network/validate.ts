// Checks on the values a network driver call names (before any host command runs).
import { NetworkInvalidError } from "./errors.ts";

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function checkVni(vni: number): void {
  if (!Number.isInteger(vni) || vni < 1 || vni > 16_777_215) throw new NetworkInvalidError(`VNI ${vni} is not within 1..16777215`);
}
export function checkMac(mac: string, what: string): void {
  if (!MAC_RE.test(mac)) throw new NetworkInvalidError(`${what}: MAC "${mac}" is not lower-case aa:bb:cc:dd:ee:ff`);
}
export function checkIfname(name: string, what: string): void {
  if (!IFNAME_RE.test(name)) throw new NetworkInvalidError(`${what}: interface name "${name}" is not 1-15 of [A-Za-z0-9_.-]`);
}
export function checkIpv4(ip: string, what: string): void {
  if (!IPV4_RE.test(ip)) throw new NetworkInvalidError(`${what}: "${ip}" is not an IPv4 address`);
}
