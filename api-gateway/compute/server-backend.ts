// What the server routes need from the node beyond the store: the placement service (node/placement-service.ts),
// the quota escrow (node/quota), the node's Ipam, its capacity view and a console-log reader. The agent passes a
// ServerBackend through the compute plugin's `servers` option, or attaches one to the node id with
// `attachServerBackend` (works without touching app.ts). Without one, POST /servers answers 503.
import type { PlacementService } from "../../node/placement-service.ts";
import type { QuotaEscrow } from "../../node/quota/escrow.ts";
import type { Ipam } from "../../node/ipam/ipam.ts";
import type { HostState } from "../../protocol/placement/index.ts";

export interface ServerBackend {
  placement: Pick<PlacementService, "createServer" | "quotaOf">;
  /** Returns a deleted server's quota; setLimit backs os-quota-sets updates; counter reads limit/usage. */
  quota?: Pick<QuotaEscrow, "release" | "setLimit" | "counter">;
  /** Addresses for ports the API creates; default: an Ipam over the gateway's store without transport. */
  ipam?: Ipam;
  /** This node's capacity view (latest advert per host) for os-hypervisors. */
  capacity?: { get(node: string): { state: HostState } | undefined; ageMs?(node: string): number | undefined };
  /** The guest console log of a server (read locally when owned here, else forwarded to the owner). */
  consoleOutput?(server: { id: string; host: string }, length?: number): Promise<string>;
}

const attached = new Map<string, ServerBackend>();

/** Registers the backend the compute routes of the gateway with node id `nodeId` use. Returns a detach function. */
export function attachServerBackend(nodeId: string, backend: ServerBackend): () => void {
  attached.set(nodeId, backend);
  return () => {
    if (attached.get(nodeId) === backend) attached.delete(nodeId);
  };
}

export function serverBackend(nodeId: string, given?: ServerBackend): ServerBackend | undefined {
  return given ?? attached.get(nodeId);
}
