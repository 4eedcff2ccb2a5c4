// The web dashboard (issue #21): static files from dashboard/, served by every agent under /dashboard on
// the public listener. They are read once at start into a fixed table, so a request path can only
// name one of those files (no path from the URL ever reaches the file system). The pages are a client
// of the public OpenStack API on the same origin; the headers keep the token out of other origins'
// reach (a strict CSP: scripts only from here, no inline code, no framing).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";

const ROOT = resolve(import.meta.dirname, "../../dashboard");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};
export const DASHBOARD_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  // Revalidated on every load: an upgraded agent serves its own pages at once.
  "cache-control": "no-cache",
};

export interface DashboardFile {
  type: string;
  body: Buffer;
}

/** Every file under `root` with a known type, keyed by its path relative to root ("index.html", "views/servers.js"). */
export function loadDashboard(root = ROOT): Map<string, DashboardFile> {
  const files = new Map<string, DashboardFile>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (TYPES[extname(name)]) files.set(relative(root, path).split("\\").join("/"), { type: TYPES[extname(name)]!, body: readFileSync(path) });
    }
  };
  walk(root);
  return files;
}

/** GET /dashboard (redirect to /dashboard/), /dashboard/ (index.html) and /dashboard/<file>; anything else 404. */
export function serveDashboard(app: FastifyInstance, files = loadDashboard()): void {
  const send = (name: string, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) return reply.code(404).headers(DASHBOARD_HEADERS).type("text/plain; charset=utf-8").send(`404 Not Found: /dashboard/${name} is not a dashboard file\n`);
    return reply.code(200).headers(DASHBOARD_HEADERS).type(file.type).send(file.body);
  };
  // The router ignores trailing slashes, so /dashboard and /dashboard/ both land here: the page's
  // relative URLs need the slash.
  app.get("/dashboard", async (req, reply) => (req.url.split("?")[0]!.endsWith("/") ? send("index.html", reply) : reply.redirect("/dashboard/", 302)));
  app.get("/dashboard/*", async (req, reply) => send((req.params as { "*": string })["*"] || "index.html", reply));
}
