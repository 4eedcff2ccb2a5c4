// Quota resources, OpenStack's default limits, and the errors quota checks raise.
import { PeerstackError } from "../../protocol/errors.ts";

/**
 * Nova (instances, cores, ram MiB, key_pairs, server groups), Cinder (volumes, gigabytes, snapshots), Neutron
 * (network ... security_group), Glance unified limits (image_count_total images, image_size_total MiB stored).
 */
export const DEFAULT_LIMITS = Object.freeze({
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  volumes: 10,
  gigabytes: 1000,
  snapshots: 10,
  networks: 100,
  subnets: 100,
  ports: 500,
  routers: 10,
  floatingips: 50,
  security_groups: 10,
  image_count_total: 100,
  image_size_total: 102400,
});

export type QuotaResource = keyof typeof DEFAULT_LIMITS;
export type QuotaAmounts = Partial<Record<QuotaResource, number>>;

export function quotaKey(project: string, resource: string): string {
  return `${project}/${resource}`;
}

export function splitKey(key: string): { project: string; resource: string } {
  const i = key.lastIndexOf("/");
  return { project: key.slice(0, i), resource: key.slice(i + 1) };
}

/** Nova's message: "Quota exceeded for cores: Requested 2, but already used 19 of 20 cores". Maps to 403. */
export class QuotaExceededError extends PeerstackError {
  readonly project: string;
  readonly resource: string;
  constructor(project: string, resource: string, requested: number, used: number, limit: number, why = "") {
    super("QUOTA_EXCEEDED", `Quota exceeded for ${resource}: Requested ${requested}, but already used ${used} of ${limit} ${resource}${why}`);
    this.project = project;
    this.resource = resource;
  }
}
