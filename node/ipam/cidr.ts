// IPv4 address math for subnets: parse/format, CIDR, allocation pools, Neutron's defaults.
import { PeerstackError } from "../../protocol/errors.ts";

/** A CIDR, address or pool that is malformed, not IPv4, or inconsistent with its subnet. */
export class InvalidAddressError extends PeerstackError {
  constructor(message: string) {
    super("INVALID_ADDRESS", message);
  }
}

export interface Pool {
  start: string;
  end: string;
}

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
  /** Number of addresses (2^(32-prefix)). */
  size: number;
}

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = OCTETS.exec(text);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x, i) => x > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith("0")))) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

/** Parses "a.b.c.d/p"; host bits must be zero (Neutron refuses 10.0.0.1/24 as a subnet CIDR). */
export function parseCidr(text: unknown): Cidr {
  if (typeof text !== "string") throw new InvalidAddressError(`Invalid input for cidr. Reason: '${String(text)}' is not a valid IP subnet.`);
  const [addr, p, extra] = text.split("/");
  const ip = parseIp(addr);
  const prefix = p !== undefined && /^\d{1,2}$/.test(p) ? Number(p) : NaN;
  if (ip === undefined || extra !== undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new InvalidAddressError(`Invalid input for cidr. Reason: '${text}' is not a valid IPv4 subnet.`);
  }
  const size = 2 ** (32 - prefix);
  if (ip % size !== 0) throw new InvalidAddressError(`Invalid input for cidr. Reason: '${text}' isn't a recognized IP subnet cidr, '${formatIp(ip - (ip % size))}/${prefix}' is recommended.`);
  if (prefix > 30) throw new InvalidAddressError(`Invalid input for cidr. Reason: '${text}' leaves no room for hosts (prefix must be at most /30).`);
  return { base: ip, prefix, size };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

/** Host addresses: everything but the network and broadcast addresses. */
export function isHost(c: Cidr, ip: number): boolean {
  return ip > c.base && ip < c.base + c.size - 1;
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + c.size;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** Neutron's default pools: every host address but the gateway, split around it. */
export function defaultPools(c: Cidr, gateway: number | undefined): Pool[] {
  const first = c.base + 1;
  const last = c.base + c.size - 2;
  const ranges: [number, number][] = [];
  if (gateway === undefined || gateway < first || gateway > last) ranges.push([first, last]);
  else {
    if (gateway > first) ranges.push([first, gateway - 1]);
    if (gateway < last) ranges.push([gateway + 1, last]);
  }
  return ranges.map(([s, e]) => ({ start: formatIp(s), end: formatIp(e) }));
}

/** Validates pools against the subnet: inside it, host addresses, start <= end, no overlap, not the gateway. */
export function checkPools(c: Cidr, pools: unknown, gateway: number | undefined): Pool[] {
  if (!Array.isArray(pools)) throw new InvalidAddressError("Invalid input for allocation_pools: expected a list of {start, end}.");
  const parsed: [number, number][] = [];
  for (const p of pools) {
    const s = parseIp((p as Pool | null)?.start);
    const e = parseIp((p as Pool | null)?.end);
    if (s === undefined || e === undefined) throw new InvalidAddressError(`Invalid input for allocation_pools: ${JSON.stringify(p)} is not a pair of IPv4 addresses.`);
    if (s > e) throw new InvalidAddressError(`The allocation pool ${formatIp(s)}-${formatIp(e)} is not valid: start is after end.`);
    if (!isHost(c, s) || !isHost(c, e)) throw new InvalidAddressError(`The allocation pool ${formatIp(s)}-${formatIp(e)} spans beyond the subnet cidr ${formatCidr(c)}.`);
    if (gateway !== undefined && gateway >= s && gateway <= e) throw new InvalidAddressError(`Gateway ip ${formatIp(gateway)} conflicts with allocation pool ${formatIp(s)}-${formatIp(e)}.`);
    parsed.push([s, e]);
  }
  parsed.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < parsed.length; i++) {
    if (parsed[i][0] <= parsed[i - 1][1]) {
      throw new InvalidAddressError(`Found overlapping allocation pools: ${formatIp(parsed[i - 1][0])}-${formatIp(parsed[i - 1][1])} and ${formatIp(parsed[i][0])}-${formatIp(parsed[i][1])}.`);
    }
  }
  return parsed.map(([s, e]) => ({ start: formatIp(s), end: formatIp(e) }));
}

export function inPools(pools: readonly Pool[], ip: number): boolean {
  return pools.some((p) => ip >= (parseIp(p.start) ?? Infinity) && ip <= (parseIp(p.end) ?? -1));
}
