// Console output of any server from any node: read locally when this node owns the server, else asked
// of the owner over `/peerstack/console/1` with a timeout. Deterministic: the transport and the local
// reader are injected (the agent binds the compute driver's consoleLog; tests bind a map).
import { decodeAs, encode, type CodecOptions } from "../../protocol/codec.ts";
import { defineMessage } from "../../protocol/codec.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import type { MeshLog } from "../mesh/log.ts";
import { silentLog } from "../mesh/log.ts";
import type { DirectTransport } from "../mesh/transport.ts";
import { CONSOLE_PROTOCOL, CONSOLE_TYPE, MAX_CONSOLE_BYTES, readConsoleAnswer, readConsoleAsk, type ConsoleAnswer, type ConsoleAsk } from "./messages.ts";

const ConsoleMessage = defineMessage<unknown>(CONSOLE_TYPE, (body) => body);
/** Console text may be up to 4 bytes per UTF-16 unit once UTF-8 encoded. */
const WIRE: CodecOptions = { maxBytes: 8 * MAX_CONSOLE_BYTES, limits: { maxStringBytes: 4 * MAX_CONSOLE_BYTES } };

/** The owner of a server could not be reached or did not answer in time. */
export class ConsoleOwnerUnreachableError extends PeerstackError {
  constructor(serverId: string, host: string, why: string, options?: { cause?: unknown }) {
    super("CONSOLE_OWNER_UNREACHABLE", `reading the console log of server "${serverId}": its host "${host}" is unreachable (${why})`, options);
  }
}

/** The owner (or this node) answered, but could not read the console log. */
export class ConsoleUnavailableError extends PeerstackError {
  constructor(serverId: string, host: string, why: string, options?: { cause?: unknown }) {
    super("CONSOLE_UNAVAILABLE", `reading the console log of server "${serverId}" on host "${host}": ${why}`, options);
  }
}

/** Nova's tail: the last `length` lines of the text split on "\n" (0 → ""), control characters except \t \n dropped. */
export function tailLines(text: string, length?: number): string {
  const clean = text.replace(/[\x00-\x08\x0b-\x1f]/g, "");
  let out = clean;
  if (length !== undefined) out = length === 0 ? "" : clean.split("\n").slice(-length).join("\n");
  return out.length > MAX_CONSOLE_BYTES ? out.slice(-MAX_CONSOLE_BYTES) : out;
}

export interface ConsoleComponents {
  transport: DirectTransport;
  /** The raw console log of a server hosted here (throws when there is none). */
  readConsole(serverId: string, length?: number): Promise<string>;
  log?: MeshLog;
}

export interface ConsoleInit {
  /** How long to wait for the owner's answer (default 5 s). */
  timeoutMs?: number;
}

export interface ConsoleService {
  start(): void;
  stop(): void;
  /** The console output of `server` (last `length` lines), read here or asked of `server.host`. */
  output(server: { id: string; host: string }, length?: number): Promise<string>;
}

export function consoleService(init: ConsoleInit = {}): (c: ConsoleComponents) => ConsoleService {
  const timeoutMs = init.timeoutMs ?? 5000;
  return (c) => {
    const log = c.log ?? silentLog;
    const me = c.transport.self;
    let running = false;

    async function local(serverId: string, length?: number): Promise<string> {
      try {
        return tailLines(await c.readConsole(serverId, length), length);
      } catch (cause) {
        throw new ConsoleUnavailableError(serverId, me, cause instanceof Error ? cause.message : String(cause), { cause });
      }
    }

    async function answer(from: string, data: Uint8Array): Promise<Uint8Array> {
      let a: ConsoleAnswer;
      try {
        const ask: ConsoleAsk = readConsoleAsk(decodeAs(data, ConsoleMessage, WIRE).body);
        if (!running) throw new ConsoleUnavailableError(ask.serverId, me, "the console service is stopping");
        a = { ok: true, output: await local(ask.serverId, ask.length) };
      } catch (err) {
        log.debug({ from, err: String(err) }, "console request failed");
        a = { ok: false, code: err instanceof PeerstackError ? err.code : "INTERNAL", message: err instanceof Error ? err.message : String(err) };
      }
      return encode({ type: CONSOLE_TYPE, from: me, hlc: { wallMs: 0, counter: 0, node: me }, body: a }, WIRE);
    }

    return {
      start() {
        running = true;
        c.transport.handle(CONSOLE_PROTOCOL, answer);
      },
      stop() {
        running = false;
      },
      async output(server, length) {
        if (server.host === me) return local(server.id, length);
        const ask: ConsoleAsk = { serverId: server.id, ...(length !== undefined ? { length } : {}) };
        let bytes: Uint8Array;
        try {
          bytes = await c.transport.request(server.host, CONSOLE_PROTOCOL, encode({ type: CONSOLE_TYPE, from: me, hlc: { wallMs: 0, counter: 0, node: me }, body: ask }, WIRE), { timeoutMs });
        } catch (cause) {
          throw new ConsoleOwnerUnreachableError(server.id, server.host, cause instanceof Error ? cause.message : String(cause), { cause });
        }
        let a: ConsoleAnswer;
        try {
          a = readConsoleAnswer(decodeAs(bytes, ConsoleMessage, WIRE).body);
        } catch (cause) {
          throw new ConsoleUnavailableError(server.id, server.host, `bad answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
        }
        if (!a.ok) throw new ConsoleUnavailableError(server.id, server.host, a.message);
        return a.output;
      },
    };
  };
}
