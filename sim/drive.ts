// The workload driver: each arrival enters at a random up node of its project's home AZ (the front
// node), which takes quota from its escrow and runs the real auction requester; at the end of its
// lifetime the server is deleted through another front node (its host frees the claim, the deleting
// node gets the quota back), retried while the host cannot be reached.
import { NoValidHostError } from "../protocol/placement/index.ts";
import { encode } from "../node/mesh/wire.ts";
import { RELEASE_PROTOCOL } from "../node/auction/messages.ts";
import type { SimHost } from "./host.ts";
import type { Arrival } from "./workload.ts";

export type Outcome =
  | { ok: true; host: string; attempt: number; latencyMs: number }
  | { ok: false; reason: "quota" | "no-valid-host" | "error"; latencyMs: number };

/** Releases with this attempt free a claim whatever attempt made it (the server is gone for good). */
const DELETE_ATTEMPT = 2 ** 30;

export async function placeVia(front: SimHost, a: Arrival): Promise<Outcome> {
  const clock = front.node.clock;
  const started = clock.now();
  const need = { instances: 1, cores: a.spec.resources.vcpus };
  if (!(await front.quota.take(a.spec.project, need))) return { ok: false, reason: "quota", latencyMs: clock.now() - started };
  try {
    const p = await front.requester.place(a.spec);
    return { ok: true, host: p.host, attempt: p.attempt, latencyMs: clock.now() - started };
  } catch (err) {
    front.quota.give(a.spec.project, need);
    return { ok: false, reason: err instanceof NoValidHostError ? "no-valid-host" : "error", latencyMs: clock.now() - started };
  }
}

/** Deletes a placed server through `via`; true once its host acknowledged. */
export async function removeVia(via: SimHost, a: Arrival, host: string, timeoutMs: number): Promise<boolean> {
  const ask = { serverId: a.spec.serverId, attempt: DELETE_ATTEMPT };
  if (host === via.node.id) via.bidder.release(ask);
  else {
    try {
      await via.transport.request(host, RELEASE_PROTOCOL, encode("auction.release", via.node.id, ask), { timeoutMs });
    } catch {
      return false;
    }
  }
  via.quota.give(a.spec.project, { instances: 1, cores: a.spec.resources.vcpus });
  return true;
}
