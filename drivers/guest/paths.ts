// Where the project keeps its local state and caches: <repo>/.peerstack (PEERSTACK_HOME overrides).
import { join, resolve } from "node:path";

export function peerstackHome(): string {
  return process.env.PEERSTACK_HOME ?? join(resolve(import.meta.dirname, "..", ".."), ".peerstack");
}

export function cacheDir(...parts: string[]): string {
  return join(peerstackHome(), "cache", ...parts);
}
