// Tokens: JWTs signed with EdDSA by the issuing node's Ed25519 key (kid = node id). Any node verifies
// any token offline: the issuer's public key is the one inside its id (issuers.ts), and the issuer must
// be a live member. Revocations are catalog records too ("token_revocation", keyed by audit id), so
// they replicate like everything else.
// A token also carries the token epoch of its user and project (replicated fields a password change or
// a disable renews, see identity/token-epoch.ts): a token whose epoch is not the current one is refused.
import type { PrivateKey } from "@libp2p/interface";
import { decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import type { Clock } from "../../protocol/clock.ts";
import type { Random } from "../../protocol/random.ts";
import { AuthenticationRequiredError, TokenExpiredError, TokenRevokedError } from "../errors.ts";
import { PROJECT, USER } from "../identity/model.ts";
import { tokenEpochOf } from "../identity/token-epoch.ts";
import type { GatewayStore } from "../store.ts";
import { IssuerKeys, selfPublishedNodes, type IssuerCheck } from "./issuers.ts";

export { NODE_KIND } from "./issuers.ts";
export const REVOCATION_KIND = "token_revocation";
const ALG = "EdDSA";

/** The issuing node: its id (the libp2p peer id) and its Ed25519 identity key. */
export interface NodeKey {
  id: string;
  privateKey: PrivateKey;
}

export interface TokenClaims {
  userId: string;
  /** Project scope; absent for an unscoped token. */
  projectId?: string;
  methods: string[];
  /** [own audit id, audit id of the token it was re-scoped from]. */
  auditIds: string[];
  issuedAtMs: number;
  expiresAtMs: number;
  /** The node that signed it. */
  issuer: string;
  /** Issued for an application credential: its roles bound the token's (api-gateway/identity/app-credentials.ts). */
  appCredId?: string;
  /** The user's and the project's token epoch when the token was issued ("" = none set yet). */
  userEpoch: string;
  projectEpoch: string;
}

export interface TokenServiceInit {
  node: NodeKey;
  ttlSec?: number;
  /** Verified tokens kept in memory. */
  cacheSize?: number;
}

export interface TokenServiceComponents {
  store: GatewayStore;
  clock: Clock;
  random: Random;
  /** Which issuers are live members; by default those with a self-published node record in `store`. */
  issuers?: IssuerCheck;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** A 22-character url-safe audit id, like Keystone's. */
export function newAuditId(random: Random): string {
  return b64url(random.bytes(16));
}

export class TokenService {
  readonly ttlSec: number;
  private readonly init: TokenServiceInit;
  private readonly c: TokenServiceComponents;
  private signingKey?: Promise<CryptoKey>;
  private readonly issuerKeys: IssuerKeys;
  private readonly verified = new Map<string, TokenClaims>();
  private readonly cacheSize: number;
  hits = 0;
  misses = 0;

  constructor(init: TokenServiceInit, c: TokenServiceComponents) {
    if (init.node.privateKey.type !== "Ed25519") throw new AuthenticationRequiredError(`node key of "${init.node.id}" is ${init.node.privateKey.type}, not Ed25519`);
    this.init = init;
    this.c = c;
    this.ttlSec = init.ttlSec ?? 3600;
    this.cacheSize = init.cacheSize ?? 10_000;
    const isMember = c.issuers ?? selfPublishedNodes(c.store);
    this.issuerKeys = new IssuerKeys((id) => id === init.node.id || isMember(id));
  }

  get nodeId(): string {
    return this.init.node.id;
  }

  /** The raw 32-byte public key of this node, base64url (what its JWKs carry). */
  publicKeyRaw(): Uint8Array {
    return this.init.node.privateKey.publicKey.raw;
  }

  async issue(claims: { userId: string; projectId?: string; methods: string[]; parentAuditId?: string; expiresAtMs?: number; appCredId?: string }): Promise<{ token: string; claims: TokenClaims }> {
    const now = this.c.clock.now();
    const auditId = newAuditId(this.c.random);
    const full: TokenClaims = {
      userId: claims.userId,
      projectId: claims.projectId,
      methods: claims.methods,
      auditIds: claims.parentAuditId ? [auditId, claims.parentAuditId] : [auditId],
      issuedAtMs: now,
      expiresAtMs: claims.expiresAtMs ?? now + this.ttlSec * 1000,
      issuer: this.init.node.id,
      ...(claims.appCredId ? { appCredId: claims.appCredId } : {}),
      userEpoch: tokenEpochOf(this.c.store.get(USER, claims.userId)),
      projectEpoch: claims.projectId ? tokenEpochOf(this.c.store.get(PROJECT, claims.projectId)) : "",
    };
    const payload: JWTPayload = { sub: full.userId, mth: full.methods, iat_ms: now, exp_ms: full.expiresAtMs, uep: full.userEpoch, pep: full.projectEpoch };
    if (full.projectId) payload.prj = full.projectId;
    if (full.appCredId) payload.acr = full.appCredId;
    if (claims.parentAuditId) payload.par = claims.parentAuditId;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: this.init.node.id, typ: "JWT" })
      .setIssuer(this.init.node.id)
      .setJti(auditId)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.ceil(full.expiresAtMs / 1000))
      .sign(await this.ownKey());
    return { token, claims: full };
  }

  /** Checks signature, issuer key, expiry and revocation; throws a named error otherwise. */
  async verify(token: string): Promise<TokenClaims> {
    const cached = this.verified.get(token);
    let claims: TokenClaims;
    if (cached) {
      this.hits++;
      claims = cached;
    } else {
      this.misses++;
      claims = await this.verifySignature(token);
      if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, claims);
    }
    if (this.c.clock.now() >= claims.expiresAtMs) {
      this.verified.delete(token);
      throw new TokenExpiredError();
    }
    // Checked on cache hits too: a removed node's tokens stop working at once.
    this.issuerKeys.check(claims.issuer);
    for (const a of claims.auditIds) if (this.c.store.get(REVOCATION_KIND, a)) throw new TokenRevokedError("token revoked");
    // Compared by value, not by time: no clock drift between issuer and verifier can let an old token through.
    if (claims.userEpoch !== tokenEpochOf(this.c.store.get(USER, claims.userId))) throw new TokenRevokedError("the user's password changed or the user was disabled since the token was issued");
    if (claims.projectId && claims.projectEpoch !== tokenEpochOf(this.c.store.get(PROJECT, claims.projectId))) throw new TokenRevokedError("the project was disabled since the token was issued");
    return claims;
  }

  async revoke(claims: TokenClaims): Promise<void> {
    await this.c.store.put(REVOCATION_KIND, claims.auditIds[0], { expires_at_ms: claims.expiresAtMs, revoked_at_ms: this.c.clock.now(), issuer: claims.issuer });
  }

  private async verifySignature(token: string): Promise<TokenClaims> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new AuthenticationRequiredError("The request you have made requires authentication. (malformed token)");
    }
    if (!kid) throw new AuthenticationRequiredError("The request you have made requires authentication. (token has no kid)");
    const key = await this.issuerKeys.keyOf(kid);
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: [ALG], issuer: kid, currentDate: new Date(this.c.clock.now()), clockTolerance: 60 });
      if (typeof payload.sub !== "string" || !Array.isArray(payload.mth) || typeof payload.jti !== "string" || typeof payload.exp_ms !== "number") {
        throw new AuthenticationRequiredError("The request you have made requires authentication. (token claims malformed)");
      }
      return {
        userId: payload.sub,
        projectId: typeof payload.prj === "string" ? payload.prj : undefined,
        methods: payload.mth as string[],
        auditIds: typeof payload.par === "string" ? [payload.jti, payload.par] : [payload.jti],
        issuedAtMs: typeof payload.iat_ms === "number" ? payload.iat_ms : (payload.iat ?? 0) * 1000,
        expiresAtMs: payload.exp_ms,
        issuer: kid,
        ...(typeof payload.acr === "string" ? { appCredId: payload.acr } : {}),
        userEpoch: typeof payload.uep === "string" ? payload.uep : "",
        projectEpoch: typeof payload.pep === "string" ? payload.pep : "",
      };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenExpiredError();
      if (err instanceof AuthenticationRequiredError) throw err;
      throw new AuthenticationRequiredError(`The request you have made requires authentication. (${(err as Error).message})`);
    }
  }

  private ownKey(): Promise<CryptoKey> {
    const k = this.init.node.privateKey;
    this.signingKey ??= importJWK({ kty: "OKP", crv: "Ed25519", d: b64url(k.raw.subarray(0, 32)), x: b64url(k.publicKey.raw) }, ALG) as Promise<CryptoKey>;
    return this.signingKey;
  }
}
