// A quota limit as clients send it (Nova os-quota-sets, Cinder os-quota-sets): an integer from -1
// (unlimited) to 2^31-1, as a JSON number or a decimal string. Nova's schema bound (db.MAX_INT), and what
// keeps 1e300 (an integer to Number.isInteger) out of the escrow's counters.
export const MAX_QUOTA_LIMIT = 0x7fffffff;

/** The limit `value` stands for, or undefined when it is none (the caller answers 400 in its own body). */
export function quotaLimit(value: unknown): number | undefined {
  const n = typeof value === "string" && /^-?\d{1,10}$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < -1 || n > MAX_QUOTA_LIMIT) return undefined;
  return n;
}
