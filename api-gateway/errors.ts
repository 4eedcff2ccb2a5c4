// The gateway's failures: one class per failure, each with a stable code. `statusOf` maps a code to
// HTTP; each service plugin renders the error in its own OpenStack body (see error-bodies.ts).
import { PeerstackError } from "../protocol/errors.ts";

/** A request body, query or path value is malformed or refused by validation. */
export class InvalidRequestError extends PeerstackError {
  constructor(message: string) {
    super("INVALID_REQUEST", message);
  }
}

/** The object named in the request does not exist (or the caller may not know it exists). */
export class ItemNotFoundError extends PeerstackError {
  readonly itemType: string;
  constructor(itemType: string, id: string, message?: string) {
    super("ITEM_NOT_FOUND", message ?? `Could not find ${itemType}: ${id}.`);
    this.itemType = itemType;
  }
}

/** No token, or one that does not verify (bad signature, unknown issuer, malformed). */
export class AuthenticationRequiredError extends PeerstackError {
  constructor(message = "The request you have made requires authentication.") {
    super("AUTH_REQUIRED", message);
  }
}

/** Password authentication failed (unknown user, wrong password, disabled user). */
export class InvalidCredentialsError extends PeerstackError {
  constructor() {
    super("INVALID_CREDENTIALS", "The request you have made requires authentication.");
  }
}

/** The token expired. */
export class TokenExpiredError extends PeerstackError {
  constructor() {
    super("TOKEN_EXPIRED", "The request you have made requires authentication.");
  }
}

/** The token was revoked (DELETE /v3/auth/tokens), or its user or project is gone or disabled. */
export class TokenRevokedError extends PeerstackError {
  constructor(reason: string) {
    super("TOKEN_REVOKED", `The request you have made requires authentication. (${reason})`);
  }
}

/** The caller's roles do not allow the action. */
export class PolicyForbiddenError extends PeerstackError {
  constructor(action: string) {
    super("POLICY_FORBIDDEN", `Policy doesn't allow ${action} to be performed.`);
  }
}

/** The caller has no role on the project it asked to scope to. */
export class ScopeForbiddenError extends PeerstackError {
  constructor(projectId: string) {
    super("SCOPE_FORBIDDEN", `User has no access to project ${projectId}`);
  }
}

/** The object exists already (a name that must be unique, an id in use). */
export class ConflictError extends PeerstackError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

/** A quota or limit would be exceeded. */
export class OverLimitError extends PeerstackError {
  constructor(message: string) {
    super("OVER_LIMIT", message);
  }
}

/** The requested microversion is outside the supported range. */
export class VersionNotAcceptableError extends PeerstackError {
  constructor(service: string, asked: string, min: string, max: string) {
    super("VERSION_NOT_ACCEPTABLE", `Version ${asked} is not supported by the ${service} API. Minimum is ${min} and maximum is ${max}.`);
  }
}

/** The route exists in OpenStack but not here. */
export class NotImplementedError extends PeerstackError {
  constructor(what: string) {
    super("NOT_IMPLEMENTED", `${what} is not implemented by peerstack`);
  }
}

const STATUS: Record<string, number> = {
  INVALID_REQUEST: 400,
  INVALID_RECORD: 400,
  AUTH_REQUIRED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  POLICY_FORBIDDEN: 403,
  SCOPE_FORBIDDEN: 401,
  ITEM_NOT_FOUND: 404,
  VERSION_NOT_ACCEPTABLE: 406,
  CONFLICT: 409,
  OVER_LIMIT: 413,
  NOT_IMPLEMENTED: 501,
  STORE_CLOSED: 503,
  STORE_FAILED: 503,
};

/** HTTP status for an error: our codes by table, fastify's own errors by their statusCode, else 500. */
export function statusOf(err: unknown): number {
  if (err instanceof PeerstackError) return STATUS[err.code] ?? 500;
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" && s >= 400 && s < 600 ? s : 500;
}

/** The message to show: ours as is, fastify's client errors as is, server errors without internals. */
export function messageOf(err: unknown, status: number): string {
  if (status >= 500 && !(err instanceof PeerstackError)) return "An unexpected error prevented the server from fulfilling your request.";
  return err instanceof Error ? err.message : String(err);
}
