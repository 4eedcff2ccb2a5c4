// `peerstack node [flags]` runs one agent; `peerstack node remove <id> [--operator ADDR]` forgets a
// dead node through a running agent's operator listener (by default <dataDir>/operator.sock).
import { hostname } from "node:os";
import { env, stderr } from "node:process";
import { pino } from "pino";
import { isLibp2pStreamRace } from "../../node/adapters/libp2p-races.ts";
import { loadConfig } from "../../node/config.ts";
import { startAgent } from "../../node/main/agent.ts";
import { operatorFetch } from "../../node/main/operator-client.ts";
import { startupProblem } from "./startup-error.ts";

const USAGE = `usage: peerstack node [--config FILE] [--data-dir DIR] [--listen MULTIADDR]... [--http HOST:PORT]
                      [--operator unix:PATH|HOST:PORT] [--metrics HOST:PORT]
                      [--join MULTIADDR]... [--cluster-key FILE] [--name NAME] [--az AZ] [--acks N]
       peerstack node remove <node-id> [--data-dir DIR | --operator unix:PATH|HOST:PORT]
env: PEERSTACK_CONFIG, PEERSTACK_DATA_DIR, PEERSTACK_LISTEN, PEERSTACK_HTTP, PEERSTACK_OPERATOR, PEERSTACK_METRICS,
     PEERSTACK_JOIN, PEERSTACK_CLUSTER_KEY, PEERSTACK_NAME, PEERSTACK_AZ, PEERSTACK_WRITE_ACKS, PEERSTACK_LOG_LEVEL
`;

export async function run(args: string[]): Promise<number> {
  if (args[0] === "--help" || args[0] === "-h") {
    stderr.write(USAGE);
    return 0;
  }
  const { config, rest } = loadConfig(args[0] === "remove" ? args.slice(1) : args, env, hostname());
  if (args[0] === "remove") {
    const id = rest[0];
    if (!id) {
      stderr.write(USAGE);
      return 2;
    }
    const res = await operatorFetch(config.operator, `/mesh/nodes/${encodeURIComponent(id)}`, { method: "DELETE" });
    const body = await res.text();
    (res.ok ? process.stdout : stderr).write(`${body}\n`);
    return res.ok ? 0 : 1;
  }
  if (rest.length > 0) {
    stderr.write(`peerstack node: unknown arguments: ${rest.join(" ")}\n${USAGE}`);
    return 2;
  }
  const log = pino({ level: config.logLevel, base: { name: config.name } });
  // A stray rejection (e.g. a libp2p stream reset nobody awaited) must not take the whole agent down
  // silently: log it with its stack and keep serving. A thrown exception leaves state unknown: exit.
  process.on("unhandledRejection", (reason) => log.error({ err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason) }, "unhandled promise rejection"));
  process.on("uncaughtException", (err) => {
    if (isLibp2pStreamRace(err)) return log.warn({ err: { message: err.message, stack: err.stack } }, "libp2p stream race on a closed connection; ignored");
    log.fatal({ err: { message: err.message, stack: err.stack } }, "uncaught exception; exiting");
    process.exit(70);
  });
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent(config, log);
  } catch (err) {
    log.fatal({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, "start failed");
    stderr.write(`peerstack node: ${startupProblem(err, { listen: config.listen, http: config.http })}\n`);
    return 1;
  }
  stderr.write(`peerstack node ${agent.id} (${config.name})\n  http:     ${agent.httpUrl}  (the OpenStack API; try ${agent.httpUrl}/healthz)\n  operator: ${agent.operator}  (native routes: /mesh, /mesh/records, /metrics)\n  p2p:      ${agent.p2p.join(" ")}\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info({ signal: sig }, "stopping");
      agent.stop().then(resolve, (err: unknown) => {
        log.error({ err: String(err) }, "stop failed");
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  return 0;
}
