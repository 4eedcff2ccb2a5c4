// First start of a cluster: the Default domain (implicit), the admin project and user, the roles
// admin/member/reader, admin's grant, a few flavors, and an openrc file. Ids are derived from names,
// so two nodes bootstrapping at once write the same records. Call it only when creating a cluster:
// a joining node must take identity from its peers (a second bootstrap with another password would
// race the first one's password hash).
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { Clock } from "../../protocol/clock.ts";
import type { Random } from "../../protocol/random.ts";
import { systemClock, systemRandom } from "../../node/runtime/system.ts";
import type { GatewayStore } from "../store.ts";
import { ASSIGNMENT, assignmentId, DEFAULT_DOMAIN, DEFAULT_DOMAIN_ID, isoMicro, PROJECT, ROLE, USER } from "./model.ts";
import { DEFAULT_COST, hashPassword, type ScryptCost } from "./passwords.ts";
import { FLAVOR } from "../compute/flavor-model.ts";

export interface BootstrapOptions {
  adminPassword: string;
  adminUser?: string;
  adminProject?: string;
  /** Where to write the openrc (mode 0600); skipped when absent. */
  openrcPath?: string;
  /** OS_AUTH_URL base, e.g. "http://10.0.0.5:8774". */
  publicUrl?: string;
  region?: string;
  passwordCost?: ScryptCost;
  /** Also create m1.tiny … m1.large (ids "1"–"4"), as devstack does. Default true. */
  flavors?: boolean;
}

export interface BootstrapResult {
  created: boolean;
  adminUserId: string;
  adminProjectId: string;
  roles: Record<string, string>;
  openrc?: string;
}

export function bootstrapId(kind: string, name: string): string {
  return createHash("sha256").update(`peerstack:bootstrap:${kind}:${name}`).digest("hex").slice(0, 32);
}

const DEFAULT_FLAVORS = [
  { id: "1", name: "m1.tiny", vcpus: 1, ram: 512, disk: 1 },
  { id: "2", name: "m1.small", vcpus: 1, ram: 2048, disk: 20 },
  { id: "3", name: "m1.medium", vcpus: 2, ram: 4096, disk: 40 },
  { id: "4", name: "m1.large", vcpus: 4, ram: 8192, disk: 80 },
];

export function openrcText(o: { authUrl: string; user: string; password: string; project: string; region: string }): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `export OS_AUTH_URL=${q(o.authUrl)}`,
    `export OS_USERNAME=${q(o.user)}`,
    `export OS_PASSWORD=${q(o.password)}`,
    `export OS_PROJECT_NAME=${q(o.project)}`,
    `export OS_USER_DOMAIN_NAME=${q(DEFAULT_DOMAIN.name)}`,
    `export OS_PROJECT_DOMAIN_NAME=${q(DEFAULT_DOMAIN.name)}`,
    `export OS_IDENTITY_API_VERSION=3`,
    `export OS_REGION_NAME=${q(o.region)}`,
    "",
  ].join("\n");
}

/** Creates what is missing; leaves existing records (and the admin password) alone. */
export async function bootstrapIdentity(store: GatewayStore, opts: BootstrapOptions, c: { clock: Clock; random: Random } = { clock: systemClock, random: systemRandom }): Promise<BootstrapResult> {
  const userName = opts.adminUser ?? "admin";
  const projectName = opts.adminProject ?? "admin";
  const region = opts.region ?? "RegionOne";
  const now = isoMicro(c.clock.now());
  const roles: Record<string, string> = {};
  let created = false;
  for (const name of ["admin", "member", "reader"]) {
    const id = bootstrapId(ROLE, name);
    roles[name] = id;
    if (!store.get(ROLE, id)) {
      await store.put(ROLE, id, { name, description: null, created_at: now });
      created = true;
    }
  }
  const adminProjectId = bootstrapId(PROJECT, projectName);
  if (!store.get(PROJECT, adminProjectId)) {
    await store.put(PROJECT, adminProjectId, { name: projectName, domain_id: DEFAULT_DOMAIN_ID, description: "Bootstrap project for initializing the cloud.", enabled: true, tags: [], created_at: now });
    created = true;
  }
  const adminUserId = bootstrapId(USER, userName);
  if (!store.get(USER, adminUserId)) {
    const password_hash = await hashPassword(opts.adminPassword, c.random, opts.passwordCost ?? DEFAULT_COST);
    await store.put(USER, adminUserId, { name: userName, domain_id: DEFAULT_DOMAIN_ID, enabled: true, password_hash, default_project_id: adminProjectId, created_at: now });
    created = true;
  }
  const grant = assignmentId(adminProjectId, adminUserId, roles.admin);
  if (!store.get(ASSIGNMENT, grant)) await store.put(ASSIGNMENT, grant, { project: adminProjectId, user: adminUserId, role: roles.admin });
  if (opts.flavors !== false) {
    for (const f of DEFAULT_FLAVORS) {
      if (!store.get(FLAVOR, f.id)) await store.put(FLAVOR, f.id, { name: f.name, vcpus: f.vcpus, ram: f.ram, disk: f.disk, ephemeral: 0, swap: 0, rxtx_factor: 1, is_public: true, description: null, extra_specs: {}, created_at: now });
    }
  }
  let openrc: string | undefined;
  if (opts.publicUrl) {
    openrc = openrcText({ authUrl: `${opts.publicUrl.replace(/\/+$/, "")}/identity`, user: userName, password: opts.adminPassword, project: projectName, region });
    if (opts.openrcPath) writeFileSync(opts.openrcPath, openrc, { mode: 0o600 });
  }
  return { created, adminUserId, adminProjectId, roles, openrc };
}
