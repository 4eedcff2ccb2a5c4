// Binds the console service (node/console) to the agent: the libp2p transport and the compute
// driver's consoleLog (known once the reconciler has started; until then, or with the reconciler off,
// local reads fail with a clear reason). The API's server backend gets `consoleOutput`, whose named
// errors become 409 with a message naming the server. Logic lives in node/console; this file only binds.
import type { Logger } from "pino";
import { ConflictError } from "../../api-gateway/errors.ts";
import type { ComputeDriver } from "../../drivers/compute/interface.ts";
import { consoleService, ConsoleOwnerUnreachableError, ConsoleUnavailableError } from "../console/console.ts";
import { MAX_CONSOLE_BYTES } from "../console/messages.ts";
import type { DirectTransport } from "../mesh/transport.ts";

export interface RunningConsole {
  /** For attachServerBackend: the console output of a server, read here or forwarded to its host. */
  consoleOutput(server: { id: string; host: string }, length?: number): Promise<string>;
  /** The compute driver local reads go to (the reconciler wiring's). */
  useCompute(compute: Pick<ComputeDriver, "consoleLog"> | undefined): void;
  stop(): void;
}

export function startConsole(w: { transport: DirectTransport; log: Logger; timeoutMs?: number }): RunningConsole {
  let compute: Pick<ComputeDriver, "consoleLog"> | undefined;
  const svc = consoleService({ ...(w.timeoutMs !== undefined ? { timeoutMs: w.timeoutMs } : {}) })({
    transport: w.transport,
    log: w.log,
    async readConsole(serverId) {
      if (!compute) throw new Error("this node runs no compute driver (reconciler off or not started)");
      // Lines are cut by the service; read a generous byte tail (4× the answer cap) so the line tail is exact.
      return compute.consoleLog(serverId, { tailBytes: 4 * MAX_CONSOLE_BYTES });
    },
  });
  svc.start();
  return {
    async consoleOutput(server, length) {
      try {
        return await svc.output(server, length);
      } catch (err) {
        if (err instanceof ConsoleOwnerUnreachableError || err instanceof ConsoleUnavailableError) throw new ConflictError(err.message);
        throw err;
      }
    },
    useCompute(c) {
      compute = c;
    },
    stop: () => svc.stop(),
  };
}
