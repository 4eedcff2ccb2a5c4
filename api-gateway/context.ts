// What every service plugin receives: the store, injected clock/randomness, the token service, the
// identity view, and this node's facts (its endpoints go into the catalog of tokens it issues).
import type { FastifyRequest } from "fastify";
import type { Clock } from "../protocol/clock.ts";
import type { Random } from "../protocol/random.ts";
import type { TokenService } from "./auth/tokens.ts";
import type { IdentityCatalog } from "./identity/model.ts";
import type { ScryptCost } from "./identity/passwords.ts";
import type { GatewayStore } from "./store.ts";

export interface NodeInfo {
  /** Node id (libp2p peer id); the kid of the tokens this node signs. */
  id: string;
  name: string;
  az?: string;
  /** Region name in the catalog (default "RegionOne"). */
  region?: string;
  /** Base URL clients reach this node at (e.g. "http://10.0.0.5:8774"); default: from the request's Host. */
  publicUrl?: string | (() => string);
}

export interface GatewayContext {
  store: GatewayStore;
  clock: Clock;
  random: Random;
  tokens: TokenService;
  identity: IdentityCatalog;
  node: NodeInfo;
  region: string;
  passwordCost: ScryptCost;
  /** This node's base URL as seen by the client of `req`, without a trailing slash. */
  baseUrl(req: FastifyRequest): string;
}

export function baseUrlFor(node: NodeInfo): (req: FastifyRequest) => string {
  return (req) => {
    const configured = typeof node.publicUrl === "function" ? node.publicUrl() : node.publicUrl;
    if (configured) return configured.replace(/\/+$/, "");
    return `${req.protocol}://${req.host}`;
  };
}
