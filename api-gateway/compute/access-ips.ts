// Nova's accessIPv4/accessIPv6: addresses the user declares for the server (stored, shown, never routed).
import { isIPv4, isIPv6 } from "node:net";
import { InvalidRequestError } from "../errors.ts";

/** The access_ip_v4/access_ip_v6 record fields a create or update body sets; "" clears. 400 on a malformed address. */
export function accessIpFields(b: Record<string, unknown>): { access_ip_v4?: string; access_ip_v6?: string } {
  const out: { access_ip_v4?: string; access_ip_v6?: string } = {};
  for (const [key, field, valid] of [["accessIPv4", "access_ip_v4", isIPv4], ["accessIPv6", "access_ip_v6", isIPv6]] as const) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || (v !== "" && !valid(v))) throw new InvalidRequestError(`Invalid input for field/attribute ${key}. Value: ${String(v)}. '${String(v)}' is not a '${key === "accessIPv4" ? "ipv4" : "ipv6"}'`);
    out[field] = v;
  }
  return out;
}

/** Nova's `ip` / `ip6` list filters: a regular expression matched against the server's addresses of that family. */
export function ipFilter(pattern: string, family: 4 | 6): (addrs: { addr: string; version: number }[]) => boolean {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    throw new InvalidRequestError(`Invalid ip${family === 6 ? "6" : ""} filter ${pattern}`);
  }
  return (addrs) => addrs.some((a) => a.version === family && re.test(a.addr));
}
