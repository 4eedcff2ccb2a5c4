// Glance unified limits over node/quota's escrow: image_count_total (taken at create) and
// image_size_total (MiB, taken as the data arrives), 413 with oslo.limit's message when short. The
// bounded counters hold the limits while partitioned; a deleted image's rights come back on the node
// that took its count (`quota_node`), once (node/quota/owner-release.ts).
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { QuotaExceededError, type QuotaAmounts } from "../../node/quota/limits.ts";
import { mebibytes } from "../../node/quota/owner-release.ts";
import { OverLimitError } from "../errors.ts";

/** What the image API needs of the escrow. */
export interface ImageQuota {
  take(project: string, amounts: QuotaAmounts): Promise<void>;
  release(project: string, amounts: QuotaAmounts): Promise<void>;
  counter(project: string, resource: "image_count_total" | "image_size_total"): bc.BoundedCounter;
}

export { mebibytes };

/** Spends image quota; 413 (Glance's answer for LimitExceeded) when even peers cannot cover it. */
export async function takeImageQuota(quota: ImageQuota, project: string, amounts: QuotaAmounts): Promise<void> {
  try {
    await quota.take(project, amounts);
  } catch (err) {
    if (!(err instanceof QuotaExceededError)) throw err;
    const r = err.resource as "image_count_total" | "image_size_total";
    const c = quota.counter(project, r);
    const limit = c.target?.value ?? bc.limit(c);
    throw new OverLimitError(`Project ${project} is over a limit for [Resource ${r} is over limit of ${limit} due to current usage ${bc.usage(c)} and delta ${amounts[r] ?? 0}]`);
  }
}

/**
 * Takes image_size_total for data as it streams in (chunked uploads have no length up front):
 * `step` MiB at a time, so a project over its limit is stopped within one step of it.
 */
export class SizeMeter {
  taken = 0;
  private readonly quota: ImageQuota;
  private readonly project: string;
  private readonly stepMiB: number;
  constructor(quota: ImageQuota, project: string, stepMiB = 64) {
    this.quota = quota;
    this.project = project;
    this.stepMiB = stepMiB;
  }

  /** Makes sure rights for `bytes` are held (taking a step more when short). */
  async cover(bytes: number): Promise<void> {
    const short = mebibytes(bytes) - this.taken;
    if (short <= 0) return;
    let more = Math.max(short, this.stepMiB);
    try {
      await this.quota.take(this.project, { image_size_total: more });
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      // A whole step may be more than is left: the exact shortfall may still fit.
      more = short;
      await takeImageQuota(this.quota, this.project, { image_size_total: more });
    }
    this.taken += more;
  }

  /** Keeps rights for exactly `bytes`, returning the rest. */
  async settle(bytes: number): Promise<void> {
    const extra = this.taken - mebibytes(bytes);
    if (extra > 0) await this.quota.release(this.project, { image_size_total: extra });
    this.taken -= Math.max(0, extra);
  }

  async releaseAll(): Promise<void> {
    if (this.taken > 0) await this.quota.release(this.project, { image_size_total: this.taken });
    this.taken = 0;
  }
}

/** Passes `source` through, covering each chunk with size quota before it is written. */
export async function* metered(source: AsyncIterable<Uint8Array>, meter: SizeMeter): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    await meter.cover(bytes);
    yield chunk;
  }
}
