// A user's or project's token epoch: an opaque value in its replicated record that every token carries
// from the moment it is issued (api-gateway/auth/tokens.ts). Changing a password, disabling a user or
// disabling a project writes a new epoch in the same put, so every node refuses the older tokens as
// soon as the record reaches it. Value, not time: issuer and verifier clocks never need to agree.
import type { Random } from "../../protocol/random.ts";
import type { CatalogRecord } from "../store.ts";

export const TOKEN_EPOCH_FIELD = "token_epoch";

/** The epoch a record's tokens must carry; "" for a record never revoked (and for tokens older than epochs). */
export function tokenEpochOf(record: CatalogRecord | undefined): string {
  const v = record?.[TOKEN_EPOCH_FIELD];
  return typeof v === "string" ? v : "";
}

/** The field to add to a put that ends every token issued so far. */
export function newTokenEpoch(random: Random): Record<string, string> {
  return { [TOKEN_EPOCH_FIELD]: Buffer.from(random.bytes(12)).toString("base64url") };
}
