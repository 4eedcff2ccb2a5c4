// The gateway's route registry (filled by an onRoute hook as the service plugins register) and the
// OpenAPI 3.1 document built from it: every method and path, its path parameters, whether it needs
// a token, and the JSON schemas a route declares. Tests enumerate the same registry, so a route
// added without a conformance row fails them.
import type { RouteOptions } from "fastify";

export interface ApiRoute {
  method: string;
  /** Full fastify path, e.g. "/compute/v2.1/servers/:id". */
  url: string;
  public: boolean;
  schema?: { body?: unknown; querystring?: unknown; params?: unknown; response?: unknown };
}

export class RouteRegistry {
  readonly routes: ApiRoute[] = [];

  /** The onRoute hook: records every method of a route (HEAD routes fastify derives included). */
  readonly onRoute = (r: RouteOptions): void => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const config = r.config as { public?: boolean } | undefined;
    for (const m of methods) {
      const url = normalise(r.url);
      if (this.routes.some((x) => x.method === m && x.url === url)) continue;
      this.routes.push({ method: String(m), url, public: config?.public === true, ...(r.schema ? { schema: r.schema as ApiRoute["schema"] } : {}) });
    }
  };

  /** Routes a client calls (the HEAD twins of GET routes left out). */
  operations(): ApiRoute[] {
    return this.routes.filter((r) => r.method !== "HEAD" || !this.routes.some((g) => g.method === "GET" && g.url === r.url));
  }
}

// "/compute/v2.1/" and "/compute/v2.1" are one route for clients (routers ignore the trailing slash).
function normalise(url: string): string {
  return url.length > 1 ? url.replace(/\/+$/, "") : url;
}

/** Path parameter names in order: "/a/:id/b/:key" → ["id", "key"]. */
export function pathParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
}

const SERVICES: [prefix: string, tag: string][] = [
  ["/identity", "identity"],
  ["/compute", "compute"],
  ["/image", "image"],
  ["/volume", "block-storage"],
  ["/networking", "network"],
];

function tagOf(url: string): string {
  return SERVICES.find(([p]) => url === p || url.startsWith(`${p}/`))?.[1] ?? "peerstack";
}

function operationId(method: string, url: string): string {
  const words = url.split("/").filter(Boolean).map((w) => (w.startsWith(":") ? `by_${w.slice(1)}` : w.replace(/[^A-Za-z0-9]+/g, "_")));
  return [method.toLowerCase(), ...words].join("_");
}

/** OpenAPI 3.1 from the registry; `serverUrl` is this node's base URL. */
export function openApiDocument(routes: ApiRoute[], serverUrl: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    if (r.method === "HEAD" && routes.some((g) => g.method === "GET" && g.url === r.url)) continue;
    const path = r.url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}") || "/";
    const op: Record<string, unknown> = {
      operationId: operationId(r.method, r.url),
      tags: [tagOf(r.url)],
      parameters: pathParams(r.url).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
      responses: r.schema?.response ? { ...(r.schema.response as object) } : { default: { description: "OpenStack response; errors in the service's error body" } },
    };
    if (!r.public) op.security = [{ keystoneToken: [] }];
    if (r.schema?.body) op.requestBody = { content: { "application/json": { schema: r.schema.body } } };
    if (r.schema?.querystring) op["x-querystring"] = r.schema.querystring;
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: { title: "peerstack OpenStack-compatible API", version, description: "Identity v3, Compute v2.1, Image v2, Block Storage v3 and Networking v2.0 served by every node." },
    servers: [{ url: serverUrl }],
    tags: SERVICES.map(([, name]) => ({ name })),
    components: { securitySchemes: { keystoneToken: { type: "apiKey", in: "header", name: "X-Auth-Token" } } },
    paths,
  };
}
