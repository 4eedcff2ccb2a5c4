// A small client for the security tests: admin token, a member of a fresh project, JSON calls and raw
// image uploads over the agent's public API (OpenStack routes only; no native route is used).
export interface Answer {
  status: number;
  body: Record<string, any>;
}

export interface GlanceClient {
  url: string;
  admin: string;
  call(method: string, path: string, token?: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  putFile(imageId: string, token: string, data: Uint8Array, headers?: Record<string, string>): Promise<Answer>;
  /** A member-role token of a new project `project` for user `user`. */
  memberOf(project: string, user: string, password: string): Promise<string>;
  /** Any flavor id. */
  flavor(): Promise<string>;
}

export async function glanceClient(url: string, adminPassword: string): Promise<GlanceClient> {
  const parse = async (res: Response): Promise<Answer> => {
    const text = await res.text();
    let body: Record<string, any> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, any>) : {};
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  };
  const call: GlanceClient["call"] = async (method, path, token, body, headers = {}) =>
    parse(await fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { "x-auth-token": token } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    }));
  const token = async (user: string, password: string, project: string): Promise<string> => {
    const res = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auth: { identity: { methods: ["password"], password: { user: { name: user, domain: { id: "default" }, password } } }, scope: { project: { name: project, domain: { id: "default" } } } } }),
    });
    if (res.status !== 201) throw new Error(`token for ${user}: ${res.status} ${await res.text()}`);
    return res.headers.get("x-subject-token")!;
  };
  const admin = await token("admin", adminPassword, "admin");
  return {
    url,
    admin,
    call,
    async putFile(imageId, tok, data, headers = {}) {
      return parse(await fetch(`${url}/image/v2/images/${imageId}/file`, { method: "PUT", headers: { "x-auth-token": tok, "content-type": "application/octet-stream", ...headers }, body: data, signal: AbortSignal.timeout(60_000) }));
    },
    async memberOf(project, user, password) {
      const p = await call("POST", "/identity/v3/projects", admin, { project: { name: project } });
      const u = await call("POST", "/identity/v3/users", admin, { user: { name: user, password, default_project_id: p.body.project.id } });
      const roles = await call("GET", "/identity/v3/roles?name=member", admin);
      const grant = await call("PUT", `/identity/v3/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${roles.body.roles[0].id}`, admin);
      if (grant.status !== 204) throw new Error(`grant: ${grant.status} ${JSON.stringify(grant.body)}`);
      return token(user, password, project);
    },
    async flavor() {
      return String((await call("GET", "/compute/v2.1/flavors", admin)).body.flavors[0].id);
    },
  };
}
