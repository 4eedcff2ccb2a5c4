// Identity records in the catalog and their Keystone v3 views. Kinds: "project", "user", "role",
// "role_assignment" (id "<project>:<user>:<role>", so the same grant made on two nodes is one record).
// There is one domain, "default" (named "Default"), and no record for it.
import { ConflictError } from "../errors.ts";
import type { CatalogRecord, GatewayStore } from "../store.ts";

export const PROJECT = "project";
export const USER = "user";
export const ROLE = "role";
export const ASSIGNMENT = "role_assignment";
export const GROUP = "group";
/** A user's application credential (id = hex): a secret standing for the user on one project, with a subset of its roles. */
export const APP_CREDENTIAL = "application_credential";
/** A user's membership of a group (id `${group}:${user}`). */
export const MEMBERSHIP = "group_membership";

export const DEFAULT_DOMAIN_ID = "default";
export const DEFAULT_DOMAIN = { id: DEFAULT_DOMAIN_ID, name: "Default", description: "The default domain", enabled: true, tags: [], options: {} };

/** Role names implied by a role (Keystone's default bootstrap: admin ⇒ member ⇒ reader). */
const IMPLIES: Record<string, string[]> = { admin: ["member", "reader"], member: ["reader"] };

export interface RoleRef {
  id: string;
  name: string;
}

export function assignmentId(projectId: string, userId: string, roleId: string): string {
  return `${projectId}:${userId}:${roleId}`;
}

/** A group's grant: the same record kind as a user's, with `group` in place of `user`. */
export function groupAssignmentId(projectId: string, groupId: string, roleId: string): string {
  return `${projectId}:group/${groupId}:${roleId}`;
}

export function membershipId(groupId: string, userId: string): string {
  return `${groupId}:${userId}`;
}

export class IdentityCatalog {
  private readonly store: GatewayStore;

  constructor(store: GatewayStore) {
    this.store = store;
  }

  user(id: string): CatalogRecord | undefined {
    return this.store.get(USER, id);
  }

  project(id: string): CatalogRecord | undefined {
    return this.store.get(PROJECT, id);
  }

  role(id: string): CatalogRecord | undefined {
    return this.store.get(ROLE, id);
  }

  /** Records of `kind` named `name` in `domainId`; names are not unique under concurrent writes, so the oldest id wins. */
  byName(kind: string, name: string, domainId: string = DEFAULT_DOMAIN_ID): CatalogRecord | undefined {
    const found = this.store.list(kind, (r) => r.name === name && (kind === ROLE || (r.domain_id ?? DEFAULT_DOMAIN_ID) === domainId));
    return found.sort((a, b) => String(a.created_at ?? "").localeCompare(String(b.created_at ?? "")) || a.id.localeCompare(b.id))[0];
  }

  /** Keystone's 409 when another record of `kind` (not `self`, the one being renamed) has `name` in `domainId`. */
  refuseTakenName(kind: string, name: string, domainId: string, self?: string): void {
    const other = this.byName(kind, name, domainId);
    if (other && other.id !== self) throw new ConflictError(`Conflict occurred attempting to store ${kind} - Duplicate entry found with name ${name} at domain ID ${domainId}.`);
  }

  /** Roles granted directly to `userId` on `projectId`. */
  directRoles(userId: string, projectId: string): RoleRef[] {
    const out: RoleRef[] = [];
    for (const a of this.store.list(ASSIGNMENT, (r) => r.user === userId && r.project === projectId)) {
      const role = this.role(String(a.role));
      if (role) out.push({ id: role.id, name: String(role.name) });
    }
    return out;
  }

  /** The groups `userId` is a member of. */
  groupsOf(userId: string): string[] {
    return this.store.list(MEMBERSHIP, (m) => m.user === userId).map((m) => String(m.group)).filter((g) => this.store.get(GROUP, g) !== undefined);
  }

  /** Roles granted to `userId` on `projectId`: its own grants and its groups'. */
  grantedRoles(userId: string, projectId: string): RoleRef[] {
    const out = this.directRoles(userId, projectId);
    const groups = new Set(this.groupsOf(userId));
    if (groups.size === 0) return out;
    for (const a of this.store.list(ASSIGNMENT, (r) => r.project === projectId && typeof r.group === "string" && groups.has(r.group))) {
      const role = this.role(String(a.role));
      if (role && !out.some((x) => x.id === role.id)) out.push({ id: role.id, name: String(role.name) });
    }
    return out;
  }

  /** Granted roles (own and groups') plus the roles they imply, each once. */
  effectiveRoles(userId: string, projectId: string): RoleRef[] {
    const roles = new Map<string, RoleRef>();
    for (const r of this.grantedRoles(userId, projectId)) {
      roles.set(r.id, r);
      for (const name of IMPLIES[r.name] ?? []) {
        const implied = this.byName(ROLE, name);
        if (implied) roles.set(implied.id, { id: implied.id, name });
      }
    }
    return [...roles.values()];
  }

  /**
   * The roles a token of application credential `cred` carries: those of the user's effective roles on the
   * credential's project that the credential names (or imply). A role the user lost is gone from it too.
   */
  credentialRoles(cred: CatalogRecord): RoleRef[] {
    const allowed = new Set<string>();
    for (const id of (cred.roles as string[] | undefined) ?? []) {
      const r = this.role(id);
      if (!r) continue;
      allowed.add(r.id);
      for (const name of IMPLIES[String(r.name)] ?? []) {
        const implied = this.byName(ROLE, name);
        if (implied) allowed.add(implied.id);
      }
    }
    return this.effectiveRoles(String(cred.user_id), String(cred.project_id)).filter((r) => allowed.has(r.id));
  }

  /** Projects on which `userId` holds any role (its own or through a group). */
  projectsOf(userId: string): CatalogRecord[] {
    const groups = new Set(this.groupsOf(userId));
    const ids = new Set(this.store.list(ASSIGNMENT, (r) => r.user === userId || (typeof r.group === "string" && groups.has(r.group))).map((a) => String(a.project)));
    return [...ids].map((id) => this.project(id)).filter((p): p is CatalogRecord => p !== undefined);
  }
}

const self = (base: string, path: string) => ({ self: `${base}/v3/${path}` });

export function domainView(base: string): Record<string, unknown> {
  return { ...DEFAULT_DOMAIN, links: self(base, `domains/${DEFAULT_DOMAIN_ID}`) };
}

export function projectView(p: CatalogRecord, base: string): Record<string, unknown> {
  const domainId = String(p.domain_id ?? DEFAULT_DOMAIN_ID);
  return {
    id: p.id,
    name: p.name,
    domain_id: domainId,
    description: p.description ?? "",
    enabled: p.enabled !== false,
    parent_id: p.parent_id ?? domainId,
    is_domain: false,
    tags: p.tags ?? [],
    options: {},
    links: self(base, `projects/${p.id}`),
  };
}

export function userView(u: CatalogRecord, base: string): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: u.id,
    name: u.name,
    domain_id: u.domain_id ?? DEFAULT_DOMAIN_ID,
    enabled: u.enabled !== false,
    password_expires_at: null,
    options: {},
    links: self(base, `users/${u.id}`),
  };
  for (const f of ["default_project_id", "description", "email"]) if (u[f] != null) view[f] = u[f];
  return view;
}

export function groupView(g: CatalogRecord, base: string): Record<string, unknown> {
  return { id: g.id, name: g.name, domain_id: g.domain_id ?? DEFAULT_DOMAIN_ID, description: g.description ?? "", links: self(base, `groups/${g.id}`) };
}

export function roleView(r: CatalogRecord, base: string): Record<string, unknown> {
  return { id: r.id, name: r.name, domain_id: null, description: r.description ?? null, options: {}, links: self(base, `roles/${r.id}`) };
}

/** An ISO 8601 time as OpenStack clients send it, no zone meaning UTC; NaN when it is none. */
export function parseUtc(text: string): number {
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
}

/** Keystone's timestamp format: ISO 8601 with microseconds and Z. */
export function isoMicro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Keystone-style ids: 32 hex characters. */
export function hexId(uuid: string): string {
  return uuid.replace(/-/g, "");
}
