// Nova's server lock: a locked server refuses state changes (actions, delete, volume attach/detach)
// from anyone but an admin, with 409 "Instance <id> is locked", until unlocked.
import type { AuthContext } from "../auth/plugin.ts";
import { isAdmin } from "../auth/policy.ts";
import { ConflictError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";

export function refuseIfLocked(a: AuthContext, s: CatalogRecord): void {
  if (s.locked === true && !isAdmin(a)) throw new ConflictError(`Instance ${s.id} is locked`);
}
