// POST /v3/auth/tokens request handling: who (password or token method) and what scope.
import type { GatewayContext } from "../context.ts";
import type { TokenClaims } from "../auth/tokens.ts";
import { InvalidCredentialsError, InvalidRequestError, ScopeForbiddenError, AuthenticationRequiredError } from "../errors.ts";
import type { CatalogRecord } from "../store.ts";
import { APP_CREDENTIAL, DEFAULT_DOMAIN, DEFAULT_DOMAIN_ID, PROJECT, USER } from "./model.ts";
import { dummyHash, verifyPassword } from "./passwords.ts";

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);

export interface AuthResult {
  user: CatalogRecord;
  methods: string[];
  project?: CatalogRecord;
  /** Set when re-scoping with the token method: the new token keeps the old expiry and audit chain. */
  parent?: TokenClaims;
  /** Set for the application_credential method: the token is bound to it. */
  appCred?: CatalogRecord;
}

/** The application_credential method: {id, secret} or {name, secret, user: {id} | {name, domain}}. */
async function credential(ctx: GatewayContext, body: unknown): Promise<{ user: CatalogRecord; cred: CatalogRecord }> {
  const c = isObj(body) ? body : undefined;
  if (!c || typeof c.secret !== "string") throw new InvalidRequestError("application_credential method needs a secret");
  let cred: CatalogRecord | undefined;
  if (typeof c.id === "string") cred = ctx.store.get(APP_CREDENTIAL, c.id);
  else if (typeof c.name === "string" && isObj(c.user)) {
    const u = c.user;
    const owner = typeof u.id === "string" ? ctx.identity.user(u.id) : typeof u.name === "string" ? ctx.identity.byName(USER, u.name, domainOf(u.domain, `user "${u.name}"`)) : undefined;
    cred = owner ? ctx.store.list(APP_CREDENTIAL, (r) => r.user_id === owner.id && r.name === c.name)[0] : undefined;
  } else throw new InvalidRequestError("application_credential method needs id, or name with user");
  const ok = await verifyPassword(c.secret, cred?.secret_hash ?? dummyHash(ctx.passwordCost));
  const user = cred ? ctx.identity.user(String(cred.user_id)) : undefined;
  const expired = typeof cred?.expires_at_ms === "number" && ctx.clock.now() >= cred.expires_at_ms;
  if (!cred || !ok || !user || user.enabled === false || expired) throw new InvalidCredentialsError();
  return { user, cred };
}

/** Resolves a domain reference {id} or {name}; only "default"/"Default" exists. */
function domainOf(ref: unknown, what: string): string {
  if (!isObj(ref)) throw new InvalidRequestError(`${what} needs a domain (id or name)`);
  if (ref.id === DEFAULT_DOMAIN_ID || ref.name === DEFAULT_DOMAIN.name) return DEFAULT_DOMAIN_ID;
  throw new InvalidCredentialsError();
}

async function passwordUser(ctx: GatewayContext, body: unknown): Promise<CatalogRecord> {
  const u = isObj(body) && isObj(body.user) ? body.user : undefined;
  if (!u || typeof u.password !== "string") throw new InvalidRequestError("password method needs user.password");
  let user: CatalogRecord | undefined;
  if (typeof u.id === "string") user = ctx.identity.user(u.id);
  else if (typeof u.name === "string") user = ctx.identity.byName(USER, u.name, domainOf(u.domain, `user "${u.name}"`));
  else throw new InvalidRequestError("password method needs user.id or user.name with user.domain");
  // Hash even for an unknown user, so timing does not tell which users exist.
  const ok = await verifyPassword(u.password, user?.password_hash ?? dummyHash(ctx.passwordCost));
  if (!user || !ok || user.enabled === false) throw new InvalidCredentialsError();
  return user;
}

function projectOf(ctx: GatewayContext, scope: Obj): CatalogRecord {
  const p = scope.project;
  if (!isObj(p)) throw new InvalidRequestError("scope.project must be an object");
  let project: CatalogRecord | undefined;
  if (typeof p.id === "string") project = ctx.identity.project(p.id);
  else if (typeof p.name === "string") project = ctx.identity.byName(PROJECT, p.name, domainOf(p.domain, `project "${p.name}"`));
  else throw new InvalidRequestError("scope.project needs id, or name with domain");
  if (!project || project.enabled === false) throw new ScopeForbiddenError(String(p.id ?? p.name));
  return project;
}

export async function authenticateRequest(ctx: GatewayContext, body: unknown, headerToken: string | undefined): Promise<AuthResult> {
  const auth = isObj(body) && isObj(body.auth) ? body.auth : undefined;
  const identity = auth && isObj(auth.identity) ? auth.identity : undefined;
  if (!auth || !identity || !Array.isArray(identity.methods) || identity.methods.length === 0) {
    throw new InvalidRequestError("Expecting to find auth.identity.methods in the request body");
  }
  // Strings only: String() of {"toString": 1} throws, and a 500 is no answer to bad input.
  if (!identity.methods.every((m) => typeof m === "string")) throw new InvalidRequestError("auth.identity.methods must be a list of strings");
  const methods = identity.methods as string[];
  let user: CatalogRecord;
  let parent: TokenClaims | undefined;
  let appCred: CatalogRecord | undefined;
  if (methods.includes("application_credential")) {
    const r = await credential(ctx, identity.application_credential);
    user = r.user;
    appCred = r.cred;
  } else if (methods.includes("password")) {
    user = await passwordUser(ctx, identity.password);
  } else if (methods.includes("token")) {
    const tokenRef = isObj(identity.token) ? identity.token : {};
    const token = typeof tokenRef.id === "string" ? tokenRef.id : headerToken;
    if (!token) throw new InvalidRequestError("token method needs identity.token.id");
    parent = await ctx.tokens.verify(token);
    if (parent.appCredId) throw new InvalidRequestError("a token from an application credential cannot be re-scoped");
    const u = ctx.identity.user(parent.userId);
    if (!u || u.enabled === false) throw new AuthenticationRequiredError();
    user = u;
  } else {
    throw new InvalidRequestError(`unsupported auth methods: ${methods.join(", ")} (supported: password, token, application_credential)`);
  }
  if (appCred) {
    // Scoped to the credential's project, always, with the credential's roles.
    const project = ctx.identity.project(String(appCred.project_id));
    if (!project || project.enabled === false || ctx.identity.credentialRoles(appCred).length === 0) throw new InvalidCredentialsError();
    return { user, methods: ["application_credential"], project, appCred };
  }

  let project: CatalogRecord | undefined;
  const scope = auth.scope;
  if (isObj(scope)) {
    if (scope.project !== undefined) project = projectOf(ctx, scope);
    else if (scope.domain !== undefined || scope.system !== undefined) throw new InvalidRequestError("only project-scoped and unscoped tokens are supported");
  } else if (scope === undefined && typeof user.default_project_id === "string") {
    const p = ctx.identity.project(user.default_project_id);
    if (p && p.enabled !== false && ctx.identity.grantedRoles(user.id, p.id).length > 0) project = p;
  }
  // Name the project as the request did: a caller without a role there must not learn its id.
  const asked = isObj(scope) && isObj(scope.project) ? String(scope.project.id ?? scope.project.name) : project?.id;
  if (project && ctx.identity.grantedRoles(user.id, project.id).length === 0) throw new ScopeForbiddenError(asked ?? project.id);
  return { user, methods: parent ? ["token", ...parent.methods.filter((m) => m !== "token")] : methods, project, parent };
}
