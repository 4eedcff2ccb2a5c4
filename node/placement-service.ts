// The one internal entry point the API calls to create a server: validate, take quota, write the
// server record (BUILD/scheduling), run the auction, write host + attempt; on failure the record goes
// to ERROR with Nova's "No valid host was found" and the quota is returned. Until drivers exist a
// placement ends at the host's claim (task_state "spawning" hands over to that host's reconciler).
import { PeerstackError } from "../protocol/errors.ts";
import { NoValidHostError, type GroupPolicy, type ImageProperties, type RequestSpec } from "../protocol/placement/index.ts";
import type { Clock } from "../protocol/clock.ts";
import type { Requester } from "./auction/requester.ts";
import type { QuotaEscrow } from "./quota/escrow.ts";
import type { CrdtStore, RecordDelta } from "./store/crdt-store.ts";
import { isScheduling } from "./placement-expiry.ts";

export const SERVER_KIND = "server";

/** What the service needs of the Store contract. */
export type ServerStore = Pick<CrdtStore, "put" | "get" | "list">;

export interface CreateServerRequest {
  id: string;
  project: string;
  name: string;
  flavor: { id: string; vcpus: number; ram: number; disk: number; ephemeral?: number; swap?: number; extraSpecs?: Record<string, string> };
  image?: { id: string; properties?: ImageProperties };
  availabilityZone?: string;
  group?: { id: string; policy: GroupPolicy; maxServerPerHost?: number };
  /** Scheduler hints: instance ids. */
  hints?: { same_host?: string[]; different_host?: string[] };
  /** Extra record fields the API keeps (user_id, key_name, metadata, networks ...). */
  fields?: Record<string, unknown>;
}

export interface CreatedServer {
  /** The record as first written (BUILD, scheduling). */
  record: Record<string, unknown>;
  /** Settles when the auction ends: the record with host set, or in ERROR. Never rejects. */
  placed: Promise<Record<string, unknown>>;
}

export class InvalidServerRequestError extends PeerstackError {
  constructor(id: string, why: string) {
    super("INVALID_SERVER_REQUEST", `creating server "${id}": ${why}`);
  }
}

export interface PlacementServiceComponents {
  store: ServerStore;
  quota: QuotaEscrow;
  requester: Requester;
  /** This node's id: records it schedules carry `scheduled_by`, so it can end them after a crash. */
  self?: string;
  /** With a clock, a placement that has not finished in `placeTimeoutMs` fails (see PlacementDeadlineError),
   *  and the record carries that deadline (`place_by`) for the other nodes. */
  clock?: Clock;
  placeTimeoutMs?: number;
  /** Pushes the new record to peers before the 202 (best effort, node/mesh/acks.ts): a front node killed
   *  right after answering must not take the only copy, or no survivor could end it (issue #22). */
  replicate?(deltas: RecordDelta[]): Promise<unknown>;
}

/**
 * A placement that did not end in time: its server goes to ERROR and its quota comes back, rather than
 * staying BUILD/scheduling for ever should an auction hang (a CI run under kill -9 left one so). A late
 * award is then a stray claim: the record shows ERROR without a host, so the winner releases it.
 */
export class PlacementDeadlineError extends PeerstackError {
  constructor(serverId: string, ms: number) {
    super("PLACEMENT_DEADLINE", `the placement of server ${serverId} did not finish in ${ms} ms`);
  }
}

/** Default deadline: far above bid + award timeouts over every attempt. */
export const DEFAULT_PLACE_TIMEOUT_MS = 60_000;

export interface PlacementService {
  createServer(req: CreateServerRequest): Promise<CreatedServer>;
  /** Quota amounts a server holds (returned by whoever deletes it, once). */
  quotaOf(flavor: CreateServerRequest["flavor"]): { instances: number; cores: number; ram: number };
  /** True while this process runs the auction of that server (node/placement-expiry.ts leaves it alone). */
  placing(serverId: string): boolean;
}

export function placementService(): (c: PlacementServiceComponents) => PlacementService {
  return (c) => {
    const quotaOf = (f: CreateServerRequest["flavor"]) => ({ instances: 1, cores: f.vcpus, ram: f.ram });
    const placeTimeoutMs = c.placeTimeoutMs ?? DEFAULT_PLACE_TIMEOUT_MS;
    const inFlight = new Set<string>();

    function validate(req: CreateServerRequest): void {
      const f = req.flavor;
      for (const [k, v] of [["vcpus", f.vcpus], ["ram", f.ram], ["disk", f.disk], ["ephemeral", f.ephemeral ?? 0], ["swap", f.swap ?? 0]] as const) {
        if (!Number.isSafeInteger(v) || v < 0) throw new InvalidServerRequestError(req.id, `flavor ${k} must be a non-negative integer, got ${v}`);
      }
      if (f.vcpus < 1 || f.ram < 1) throw new InvalidServerRequestError(req.id, "flavor needs at least 1 vcpu and 1 MiB of RAM");
      if (c.store.get(SERVER_KIND, req.id)) throw new InvalidServerRequestError(req.id, "a server with this id exists");
    }

    function hostsOf(ids: string[] = []): string[] {
      return [...new Set(ids.map((id) => c.store.get(SERVER_KIND, id)?.host).filter((h): h is string => typeof h === "string"))];
    }

    function specOf(req: CreateServerRequest): RequestSpec {
      const f = req.flavor;
      const traits = Object.entries(f.extraSpecs ?? {}).filter(([k]) => k.startsWith("trait:"));
      const spec: RequestSpec = {
        serverId: req.id,
        project: req.project,
        // root + ephemeral disk in GiB, swap (MiB) rounded up to GiB
        resources: { vcpus: f.vcpus, ramMb: f.ram, diskGb: f.disk + (f.ephemeral ?? 0) + Math.ceil((f.swap ?? 0) / 1024) },
        requiredTraits: traits.filter(([, v]) => v === "required").map(([k]) => k.slice(6)),
        forbiddenTraits: traits.filter(([, v]) => v === "forbidden").map(([k]) => k.slice(6)),
      };
      if (req.image) spec.image = req.image;
      if (req.availabilityZone) spec.az = req.availabilityZone;
      if (req.group) {
        const members = c.store.list(SERVER_KIND, (r) => r.group_id === req.group!.id && typeof r.host === "string");
        spec.group = { ...req.group, hosts: [...new Set(members.map((r) => r.host as string))] };
      }
      if (req.hints?.same_host?.length) spec.sameHost = hostsOf(req.hints.same_host);
      if (req.hints?.different_host?.length) spec.differentHost = hostsOf(req.hints.different_host);
      return spec;
    }

    function withDeadline<T>(work: Promise<T>, serverId: string): Promise<T> {
      const clock = c.clock;
      if (!clock) return work;
      const ms = placeTimeoutMs;
      return new Promise<T>((resolve, reject) => {
        const cancel = clock.schedule(ms, () => reject(new PlacementDeadlineError(serverId, ms)));
        work.then(
          (v) => {
            cancel();
            resolve(v);
          },
          (err: unknown) => {
            cancel();
            reject(err);
          },
        );
      });
    }

    // Another node may have ended the placement meanwhile (this node was silent past the deadline):
    // then neither the award nor a failure is written, and the awarded host frees its stray claim.
    const stillOurs = (id: string) => isScheduling(c.store.get(SERVER_KIND, id));
    // Deleted while scheduling (the API removes an unplaced record at once): the quota is still ours to return.
    const deletedMeanwhile = (id: string) => c.store.get(SERVER_KIND, id) === undefined;

    async function place(req: CreateServerRequest, spec: RequestSpec): Promise<Record<string, unknown>> {
      try {
        if (req.hints?.same_host?.length && spec.sameHost?.length === 0) throw new NoValidHostError(req.id, 0, "same_host names no placed server.");
        const p = await withDeadline(c.requester.place(spec), req.id);
        // The same fields as an ender's ERROR write (node/placement-expiry.ts): racing, one wins whole.
        if (stillOurs(req.id)) await c.store.put(SERVER_KIND, req.id, { host: p.host, placement_attempt: p.attempt, status: "BUILD", task_state: "spawning" });
        else if (deletedMeanwhile(req.id)) await c.quota.release(req.project, quotaOf(req.flavor));
      } catch (err) {
        const message = err instanceof NoValidHostError ? err.message : `No valid host was found. ${String(err)}`;
        if (stillOurs(req.id)) {
          await c.store.put(SERVER_KIND, req.id, { status: "ERROR", task_state: null, host: null, fault: { code: 500, message } });
          await c.quota.release(req.project, quotaOf(req.flavor)); // never placed: the front node returns it
        } else if (deletedMeanwhile(req.id)) await c.quota.release(req.project, quotaOf(req.flavor));
      } finally {
        inFlight.delete(req.id);
      }
      return { ...c.store.get(SERVER_KIND, req.id) };
    }

    return {
      quotaOf,
      placing: (id) => inFlight.has(id),
      async createServer(req) {
        validate(req);
        const spec = specOf(req);
        await c.quota.take(req.project, quotaOf(req.flavor)); // QuotaExceededError: nothing written
        const fields: Record<string, unknown> = {
          ...req.fields,
          name: req.name,
          project_id: req.project,
          flavor_id: req.flavor.id,
          vcpus: req.flavor.vcpus,
          ram: req.flavor.ram,
          disk: req.flavor.disk,
          image_id: req.image?.id ?? null,
          availability_zone: req.availabilityZone ?? null,
          group_id: req.group?.id ?? null,
          status: "BUILD",
          task_state: "scheduling",
          host: null,
          ...(c.self ? { scheduled_by: c.self } : {}),
          // The deadline in the record: any node can end the placement if this one dies (placement-expiry.ts).
          ...(c.clock ? { place_by: c.clock.now() + placeTimeoutMs, place_attempt: 1 } : {}),
        };
        inFlight.add(req.id); // before the record is visible: the expiry watcher must not take it for an orphan
        let delta: RecordDelta;
        try {
          delta = await c.store.put(SERVER_KIND, req.id, fields);
        } catch (err) {
          inFlight.delete(req.id);
          await c.quota.release(req.project, quotaOf(req.flavor));
          throw err;
        }
        await c.replicate?.([delta]).catch(() => {}); // committed here either way: gossip delivers it later
        return { record: { ...c.store.get(SERVER_KIND, req.id) }, placed: place(req, spec) };
      },
    };
  };
}
