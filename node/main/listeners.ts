// Binding the agent's listeners: the public API on host:port, the operator listener on a unix socket
// (0600, so only the agent's user reaches it) or host:port, and an optional /metrics address.
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { ConfigError } from "../config.ts";
import { parseOperatorAddress } from "./operator-client.ts";

/** sockaddr_un.sun_path is 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Listens on host:port; returns the bound URL (port 0 resolved). */
export async function listenHostPort(app: FastifyInstance, hostPort: string): Promise<{ url: string; host: string }> {
  const sep = hostPort.lastIndexOf(":");
  const host = hostPort.slice(0, sep).replace(/^\[|\]$/g, "");
  await app.listen({ host, port: Number(hostPort.slice(sep + 1)) });
  const bound = app.server.address();
  const port = typeof bound === "object" && bound ? bound.port : Number(hostPort.slice(sep + 1));
  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, host };
}

/** Listens on the operator address; returns it as clients name it (`unix:/abs/path` or `host:port`). */
export async function listenOperator(app: FastifyInstance, address: string): Promise<string> {
  const where = parseOperatorAddress(address);
  if (!where) throw new ConfigError(`operator address "${address}" is not unix:/path or host:port`);
  if (!("socketPath" in where)) return (await listenHostPort(app, address)).url.replace(/^http:\/\//, "");
  const path = resolve(where.socketPath);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new ConfigError(`operator socket "${path}" is longer than ${MAX_SOCKET_PATH} bytes (a unix socket limit): use a shorter --data-dir or --operator unix:/short/path`);
  // A socket left by a killed agent would make listen fail with EADDRINUSE; anything else is not ours.
  const stale = lstatOrUndefined(path);
  if (stale?.isSocket()) unlinkSync(path);
  else if (stale) throw new ConfigError(`operator socket "${path}" exists and is not a socket`);
  await app.listen({ path });
  // Created under the 0700 data dir, so nobody else reaches it before this chmod either.
  chmodSync(path, 0o600);
  return `unix:${path}`;
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
