// Who may issue tokens, and with which key. The key is the one inside the issuer's id (a libp2p peer id
// embeds its Ed25519 public key), so no record can substitute another; the issuer must be a live member:
// its own `node` record, published by itself (a field stamped with its id) and not removed.
import { peerIdFromString } from "@libp2p/peer-id";
import { importJWK, type CryptoKey } from "jose";
import { AuthenticationRequiredError } from "../errors.ts";
import type { GatewayStore } from "../store.ts";

export const NODE_KIND = "node";

/** True if `id` may issue tokens that this node accepts. */
export type IssuerCheck = (id: string) => boolean;

/**
 * A live member: its node record exists and the node wrote some of it itself. A record planted by
 * another writer carries only that writer's stamps; a removed node's record is a tombstone.
 */
export function selfPublishedNodes(store: Pick<GatewayStore, "stateOf">): IssuerCheck {
  return (id) => {
    const state = store.stateOf(NODE_KIND, id);
    if (!state) return false;
    for (const name of Object.keys(state.fields)) if (state.fields[name].t.node === id) return true;
    return false;
  };
}

const refuse = (why: string) => new AuthenticationRequiredError(`The request you have made requires authentication. (${why})`);

/** The Ed25519 public key inside a peer id, as a JWK; throws a 401 error for anything else. */
export function keyInPeerId(id: string): Promise<CryptoKey> {
  let raw: Uint8Array;
  try {
    const key = peerIdFromString(id).publicKey;
    if (key?.type !== "Ed25519") throw new Error("not an Ed25519 peer id");
    raw = key.raw;
  } catch {
    throw refuse(`issuer "${id}" is not an Ed25519 node id`);
  }
  return importJWK({ kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, "EdDSA") as Promise<CryptoKey>;
}

/** Issuer keys, derived once per member (only members are cached, so forged ids cannot grow it). */
export class IssuerKeys {
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  private readonly isMember: IssuerCheck;

  constructor(isMember: IssuerCheck) {
    this.isMember = isMember;
  }

  /** Throws a 401 error unless `id` is a live member. */
  check(id: string): void {
    if (!this.isMember(id)) {
      this.keys.delete(id);
      throw refuse(`unknown issuer "${id}"`);
    }
  }

  keyOf(id: string): Promise<CryptoKey> {
    this.check(id);
    let key = this.keys.get(id);
    if (!key) this.keys.set(id, (key = keyInPeerId(id)));
    return key;
  }
}
