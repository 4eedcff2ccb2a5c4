// Policy helpers shared by the services: role checks (admin ⇒ member ⇒ reader) and project isolation.
// The admin role on any project makes a cloud admin, as in Keystone's legacy default policy.
import { PolicyForbiddenError } from "../errors.ts";
import type { AuthContext } from "./plugin.ts";

export type RoleName = "admin" | "member" | "reader";

export function hasRole(auth: AuthContext, role: RoleName): boolean {
  return auth.roles.some((r) => r.name === role || r.name === "admin");
}

export function isAdmin(auth: AuthContext): boolean {
  return hasRole(auth, "admin");
}

/** Throws PolicyForbiddenError unless the caller is an admin. */
export function requireAdmin(auth: AuthContext, action: string): void {
  if (!isAdmin(auth)) throw new PolicyForbiddenError(action);
}

/** Throws unless the caller holds `role` on its scoped project (any project for admins). */
export function requireRole(auth: AuthContext, role: RoleName, action: string): string {
  if (!auth.project || !hasRole(auth, role)) throw new PolicyForbiddenError(action);
  return auth.project.id;
}

/** May the caller see or act on things owned by `projectId`? */
export function canAccessProject(auth: AuthContext, projectId: string): boolean {
  return isAdmin(auth) || auth.project?.id === projectId;
}

/** Throws unless the caller may act on `projectId` with `role`. */
export function requireProjectAccess(auth: AuthContext, projectId: string, role: RoleName, action: string): void {
  if (isAdmin(auth)) return;
  if (auth.project?.id !== projectId || !hasRole(auth, role)) throw new PolicyForbiddenError(action);
}
