// Password hashes: scrypt (node:crypto) with a per-password salt drawn from the injected Random.
// Stored as "scrypt$N$r$p$salt$hash" (base64), so the cost can change without breaking old hashes.
import { scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";
import type { Random } from "../../protocol/random.ts";

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_COST: ScryptCost = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const opts: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => scryptCb(password, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, random: Random, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = Buffer.from(random.bytes(16));
  const key = await scrypt(password, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** False for a wrong password and for a hash this code cannot read. */
export async function verifyPassword(password: string, stored: unknown): Promise<boolean> {
  if (typeof stored !== "string") return false;
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20) return false;
  const want = Buffer.from(parts[5], "base64");
  const got = await scrypt(password, Buffer.from(parts[4], "base64"), { N, r, p });
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * A hash at `cost` that no password matches (its key is zeros), to verify against when the user or
 * credential does not exist: the refusal then costs the same scrypt as a wrong password does.
 */
export function dummyHash(cost: ScryptCost): string {
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${Buffer.alloc(16).toString("base64")}$${Buffer.alloc(KEY_LEN).toString("base64")}`;
}
