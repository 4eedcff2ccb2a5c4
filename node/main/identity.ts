// The node's persistent Ed25519 identity (its libp2p peer id) and the cluster key, both files on disk.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { generateKey } from "@libp2p/pnet";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { PeerstackError } from "../../protocol/errors.ts";

export class IdentityError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IDENTITY", message, options);
  }
}

/** Loads the identity key from `file`, creating it on first start. */
export async function loadOrCreateIdentity(file: string): Promise<{ key: PrivateKey; created: boolean }> {
  if (existsSync(file)) {
    try {
      return { key: privateKeyFromProtobuf(readFileSync(file)), created: false };
    } catch (cause) {
      throw new IdentityError(`reading identity key "${file}"`, { cause });
    }
  }
  const key = await generateKeyPair("Ed25519");
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
  return { key, created: true };
}

/** A fresh cluster key in pnet's text form. */
export function newClusterKey(): Uint8Array {
  const key = new Uint8Array(95);
  generateKey(key);
  return key;
}

/** Writes a new cluster key to `file` (refusing to overwrite one). */
export function createClusterKey(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, newClusterKey(), { mode: 0o600, flag: "wx" });
  } catch (cause) {
    throw new IdentityError(`creating cluster key "${file}"`, { cause });
  }
}

/** Reads the cluster key; with `create`, makes one if the file does not exist. */
export function loadClusterKey(file: string, create: boolean): { key: Uint8Array; created: boolean } {
  let created = false;
  if (!existsSync(file)) {
    if (!create) throw new IdentityError(`cluster key "${file}" does not exist (run: peerstack cluster init)`);
    createClusterKey(file);
    created = true;
  }
  const key = readFileSync(file);
  if (!key.subarray(0, 21).toString("utf8").startsWith("/key/swarm/psk/1.0.0/")) throw new IdentityError(`"${file}" is not a cluster key`);
  return { key: new Uint8Array(key), created };
}
