// Agent configuration: embedded defaults, then a JSON file, then PEERSTACK_* environment variables,
// then command-line flags (each later source wins). With nothing given, `peerstack node` runs a
// one-node mesh from .peerstack/node with a cluster key created on first start.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PeerstackError } from "../protocol/errors.ts";

export interface NodeConfig {
  dataDir: string;
  /** libp2p listen multiaddrs. */
  listen: string[];
  /** Public HTTP listen address (the OpenStack API and /healthz), host:port. */
  http: string;
  /** Operator listener (native routes, /metrics): `unix:/path` (created 0600) or host:port. */
  operator: string;
  /** Optional extra listener serving only /metrics, host:port; "" for none. */
  metrics: string;
  /** Multiaddrs of peers to join (with /p2p/<id> when known). */
  join: string[];
  /** Cluster key file (pnet); created on first start if missing. */
  clusterKey: string;
  name: string;
  az: string;
  /** Peers that must hold a write before the API answers (when any peer is reachable). */
  writeAcks: number;
  antiEntropyMs: number;
  advertMs: number;
  logLevel: string;
  /** Enables /mesh/debug/* routes (tests: crafted gossip). */
  debugRoutes: boolean;
}

export class ConfigError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFIG", message, options);
  }
}

export const DEFAULT_CONFIG_FILE = ".peerstack/node.json";

export function defaultConfig(hostname: string, dataDir = ".peerstack/node"): NodeConfig {
  return {
    dataDir,
    listen: ["/ip4/0.0.0.0/tcp/8775"],
    http: "127.0.0.1:8774",
    operator: `unix:${join(dataDir, "operator.sock")}`,
    metrics: "",
    join: [],
    clusterKey: join(dataDir, "..", "cluster.key"),
    name: hostname,
    az: "nova",
    writeAcks: 1,
    antiEntropyMs: 3000,
    advertMs: 1000,
    logLevel: "info",
    debugRoutes: false,
  };
}

const FLAGS: Record<string, keyof NodeConfig> = {
  "--data-dir": "dataDir",
  "--listen": "listen",
  "--http": "http",
  "--operator": "operator",
  "--metrics": "metrics",
  "--join": "join",
  "--cluster-key": "clusterKey",
  "--name": "name",
  "--az": "az",
  "--acks": "writeAcks",
  "--anti-entropy-ms": "antiEntropyMs",
  "--advert-ms": "advertMs",
  "--log-level": "logLevel",
  "--debug-routes": "debugRoutes",
};

const ENV: Record<string, keyof NodeConfig> = {
  PEERSTACK_DATA_DIR: "dataDir",
  PEERSTACK_LISTEN: "listen",
  PEERSTACK_HTTP: "http",
  PEERSTACK_OPERATOR: "operator",
  PEERSTACK_METRICS: "metrics",
  PEERSTACK_JOIN: "join",
  PEERSTACK_CLUSTER_KEY: "clusterKey",
  PEERSTACK_NAME: "name",
  PEERSTACK_AZ: "az",
  PEERSTACK_WRITE_ACKS: "writeAcks",
  PEERSTACK_LOG_LEVEL: "logLevel",
  PEERSTACK_DEBUG_ROUTES: "debugRoutes",
};

function coerce(key: keyof NodeConfig, raw: string, base: NodeConfig, where: string): unknown {
  const sample = base[key];
  if (Array.isArray(sample)) return raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (typeof sample === "number") {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${where}: "${raw}" is not a number`);
    return n;
  }
  if (typeof sample === "boolean") return raw === "" || raw === "1" || raw === "true";
  return raw;
}

/** Reads config from (in order) defaults, file, env, flags. Returns the config and unparsed args. */
export function loadConfig(
  args: string[],
  env: Record<string, string | undefined>,
  hostname: string,
  defaultFile = DEFAULT_CONFIG_FILE,
): { config: NodeConfig; rest: string[] } {
  const flagValues: Array<[keyof NodeConfig, string, string]> = [];
  const rest: string[] = [];
  let file = env.PEERSTACK_CONFIG;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? [args[i].slice(0, args[i].indexOf("=")), args[i].slice(args[i].indexOf("=") + 1)] : [args[i], undefined];
    if (flag === "--config") {
      file = inline ?? args[++i];
      continue;
    }
    const key = FLAGS[flag];
    if (!key) {
      rest.push(args[i]);
      continue;
    }
    const value = inline ?? (key === "debugRoutes" ? "true" : args[++i]);
    if (value === undefined) throw new ConfigError(`flag ${flag} needs a value`);
    flagValues.push([key, value, flag]);
  }
  // The data dir decides the other defaults, so find it first.
  let dataDir: string | undefined;
  let fromFile: Partial<NodeConfig> = {};
  if (file === undefined && existsSync(defaultFile)) file = defaultFile;
  if (file !== undefined) {
    try {
      fromFile = JSON.parse(readFileSync(file, "utf8")) as Partial<NodeConfig>;
    } catch (cause) {
      throw new ConfigError(`reading config file "${file}"`, { cause });
    }
  }
  dataDir = fromFile.dataDir ?? dataDir;
  if (env.PEERSTACK_DATA_DIR) dataDir = env.PEERSTACK_DATA_DIR;
  for (const [key, value] of flagValues) if (key === "dataDir") dataDir = value;
  const config: NodeConfig = defaultConfig(hostname, dataDir);
  for (const [k, v] of Object.entries(fromFile)) {
    if (!(k in config)) throw new ConfigError(`config file "${file}": unknown setting "${k}"`);
    (config as unknown as Record<string, unknown>)[k] = v;
  }
  for (const [name, key] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw !== undefined) (config as unknown as Record<string, unknown>)[key] = coerce(key, raw, config, `env ${name}`);
  }
  const repeated = new Set<keyof NodeConfig>();
  for (const [key, value, flag] of flagValues) {
    const v = coerce(key, value, config, `flag ${flag}`);
    // Repeating a list flag adds to the list (the first use replaces the file's or env's list).
    if (Array.isArray(v) && repeated.has(key)) (config[key] as string[]).push(...v);
    else (config as unknown as Record<string, unknown>)[key] = v;
    repeated.add(key);
  }
  if (!isHostPort(config.http)) throw new ConfigError(`http address "${config.http}" is not host:port`);
  if (!config.operator.startsWith("unix:") && !isHostPort(config.operator)) throw new ConfigError(`operator address "${config.operator}" is not unix:/path or host:port`);
  if (config.operator === "unix:") throw new ConfigError(`operator address "unix:" names no socket file`);
  if (config.metrics !== "" && !isHostPort(config.metrics)) throw new ConfigError(`metrics address "${config.metrics}" is not host:port`);
  return { config, rest };
}

function isHostPort(addr: string): boolean {
  return /^[^:]+:\d+$/.test(addr) || /^\[.*\]:\d+$/.test(addr);
}
