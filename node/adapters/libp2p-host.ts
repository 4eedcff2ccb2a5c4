// The libp2p 3 host of an agent: TCP + noise + yamux, identify, ping, gossipsub (StrictSign), behind a
// private network (pnet) keyed by the cluster key, so a host without the key cannot even finish a
// handshake. Per-IP limits are raised: edge sites (and tests) put many agents behind one address.
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { gossipsub, type GossipSub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { ping, type Ping } from "@libp2p/ping";
import { preSharedKey } from "@libp2p/pnet";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";
import "./xsalsa20-fix.ts"; // pnet cipher: shared WebAssembly memory bug (see the file)

export interface HostOptions {
  privateKey: PrivateKey;
  /** The cluster key file's content (pnet's "/key/swarm/psk/1.0.0/" text form). */
  clusterKey: Uint8Array;
  listen: string[];
  /** Gossip topics that are allowed; messages on others are ignored. */
  topics?: string[];
  /** Handshake timeout of the private network, ms (a wrong key shows up as this timeout). */
  pnetTimeoutMs?: number;
  /** Lets a test cut connections to some peers (a connection gater driven from outside). */
  denyPeer?: (peerId: string) => boolean;
}

export type PeerstackLibp2p = Libp2p<{ pubsub: GossipSub; identify: unknown; ping: Ping }>;

export async function createHost(opts: HostOptions): Promise<PeerstackLibp2p> {
  const deny = opts.denyPeer ?? (() => false);
  const node = await createLibp2p({
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: opts.clusterKey, timeout: opts.pnetTimeoutMs ?? 5000 }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      inboundConnectionThreshold: 1000,
      maxConnections: 500,
      dialTimeout: 5000,
    },
    connectionGater: {
      // Loopback and private addresses are exactly what an edge site and the tests use.
      denyDialMultiaddr: () => false,
      denyDialPeer: (peerId) => deny(peerId.toString()),
      denyInboundEncryptedConnection: (peerId) => deny(peerId.toString()),
      denyOutboundEncryptedConnection: (peerId) => deny(peerId.toString()),
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: "StrictSign",
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        floodPublish: true,
        allowedTopics: opts.topics,
        scoreParams: { IPColocationFactorWeight: 0, IPColocationFactorWhitelist: new Set(["127.0.0.1", "::1"]) },
        heartbeatInterval: 700,
        // Duplicates (every message arrives from several peers) are dropped before the Ed25519 check,
        // keyed like StrictSign's message id (from + seqno); only validated messages enter this cache.
        fastMsgIdFn: (m) => (m.from && m.seqno ? `${Buffer.from(m.from).toString("base64")}/${Buffer.from(m.seqno).toString("base64")}` : `${Buffer.from(m.data ?? []).toString("base64")}`),
      }),
    },
  });
  return node as unknown as PeerstackLibp2p;
}
