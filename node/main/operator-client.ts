// Client side of the operator listener (node/main/operator-http.ts): `peerstack node remove`, the lab,
// tests and benches reach an agent's native routes through it. A `unix:/path` address is a socket
// file (global fetch cannot dial one, so node:http does); `host:port` is plain HTTP on that address.
import { request } from "node:http";

export type OperatorAddress = { socketPath: string } | { host: string; port: number };

/** Parses `unix:/path/operator.sock` or `host:port` / `[v6]:port`; undefined when it is neither. */
export function parseOperatorAddress(raw: string): OperatorAddress | undefined {
  if (raw.startsWith("unix:")) return raw.length > 5 ? { socketPath: raw.slice(5) } : undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(raw);
  return m ? { host: m[1] ?? m[2]!, port: Number(m[3]) } : undefined;
}

/** One request to the operator listener at `address`, answered as a fetch Response. */
export function operatorFetch(address: string, path: string, init: RequestInit = {}): Promise<Response> {
  const where = parseOperatorAddress(address);
  if (!where) return Promise.reject(new Error(`operator address "${address}" is not unix:/path or host:port`));
  const headers = new Headers(init.headers);
  const body = init.body === undefined || init.body === null ? undefined : String(init.body as string);
  if (body !== undefined) headers.set("content-length", String(Buffer.byteLength(body)));
  return new Promise((resolve, reject) => {
    const req = request({ ...where, path, method: init.method ?? "GET", headers: Object.fromEntries(headers), signal: init.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
        const status = res.statusCode ?? 502;
        // A Response cannot carry a body on 204/304.
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: out }));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
