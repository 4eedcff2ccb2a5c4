// What node/ logic needs from the network. libp2p implements it in production; the simulator and
// unit tests implement it in memory, so auction, quota and replication code is the same everywhere.
import { PeerstackError } from "../../protocol/errors.ts";

export interface GossipMessage {
  from: string;
  data: Uint8Array;
}

export interface GossipTransport {
  publish(topic: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (msg: GossipMessage) => void): () => void;
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type RequestHandler = (from: string, data: Uint8Array) => Promise<Uint8Array>;

export interface DirectTransport {
  /** This node's id (the libp2p peer id in production). */
  readonly self: string;
  request(peer: string, protocol: string, data: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  handle(protocol: string, handler: RequestHandler): void;
  /** Node ids currently reachable. */
  peers(): string[];
}

export interface Transport extends GossipTransport, DirectTransport {}

/** A peer could not be reached, did not answer in time, or has no handler for the protocol. */
export class PeerUnreachableError extends PeerstackError {
  readonly peer: string;
  constructor(peer: string, protocol: string, why: string, options?: { cause?: unknown }) {
    super("PEER_UNREACHABLE", `peer "${peer}" (${protocol}): ${why}`, options);
    this.peer = peer;
  }
}
