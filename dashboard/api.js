// The dashboard's client of the public OpenStack API on the same origin. The Keystone token lives in
// sessionStorage (this tab only, gone when it closes), is sent as X-Auth-Token, never put in a URL.

const KEY = "peerstack.session";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The message inside any OpenStack error body: Nova {"itemNotFound": {"message"}}, Keystone {"error": …}, Neutron {"NeutronError": …}. */
export function messageOf(status, text) {
  try {
    const json = JSON.parse(text);
    if (typeof json.message === "string") return json.message;
    for (const v of Object.values(json)) if (v && typeof v === "object" && typeof v.message === "string") return v.message;
  } catch {
    /* not JSON: Glance answers some errors as text */
  }
  return text.trim().split("\n").filter(Boolean).slice(-1)[0] || `HTTP ${status}`;
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null");
  } catch {
    return null;
  }
}

function save(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export async function api(method, path, body, headers = {}) {
  const s = session();
  const res = await fetch(path, {
    method,
    headers: { ...(s ? { "x-auth-token": s.token } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status === 401 && s && !path.startsWith("/identity/v3/auth/tokens")) {
    save(null);
    location.hash = "#/login";
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, text));
  return text ? JSON.parse(text) : {};
}

async function issue(auth) {
  const res = await fetch("/identity/v3/auth/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ auth }) });
  const text = await res.text();
  if (res.status !== 201) throw new ApiError(res.status, messageOf(res.status, text));
  const t = JSON.parse(text).token;
  return { token: res.headers.get("x-subject-token"), user: t.user, project: t.project ?? null, roles: (t.roles ?? []).map((r) => r.name), expires: t.expires_at };
}

/** Password login, scoped to the project named (or unscoped, then the first project the user has). */
export async function login(user, password, project, domain = "default") {
  const identity = { methods: ["password"], password: { user: { name: user, domain: { id: domain }, password } } };
  let s = await issue(project ? { identity, scope: { project: { name: project, domain: { id: domain } } } } : { identity });
  if (!s.project) {
    save(s);
    const projects = (await api("GET", "/identity/v3/auth/projects")).projects;
    if (!projects.length) throw new ApiError(403, `user ${user} has no project to work in`);
    s = { ...(await issue({ identity: { methods: ["token"], token: { id: s.token } }, scope: { project: { id: projects[0].id } } })), root: s.token };
  }
  save(s);
  return s;
}

/** A token for another project of the same user (the project switcher); it chains to the login's token. */
export async function rescope(projectId) {
  const s = session();
  const next = await issue({ identity: { methods: ["token"], token: { id: s.token } }, scope: { project: { id: projectId } } });
  save({ ...next, root: s.root ?? s.token });
  return next;
}

async function revoke(token) {
  await fetch("/identity/v3/auth/tokens", { method: "DELETE", headers: { "x-auth-token": token, "x-subject-token": token } }).catch(() => {});
}

/** Log out: the tokens are revoked on the API (every node refuses them; revoking the login's token also ends every token chained to it), then forgotten. */
export async function logout() {
  const s = session();
  if (s) await Promise.all([s.token, s.root].filter(Boolean).map(revoke));
  save(null);
}

export const isAdmin = () => (session()?.roles ?? []).includes("admin");
