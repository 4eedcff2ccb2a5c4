// Console-log protocol (direct request/response, `/peerstack/console/1`) in the mesh's versioned envelope.
import { expectCount, expectString, fields } from "../../protocol/validate.ts";

export const CONSOLE_PROTOCOL = "/peerstack/console/1";
export const CONSOLE_TYPE = "console.output";

/** Nova's cap on a console answer (libvirt driver MAX_CONSOLE_BYTES, 100 KiB; here UTF-16 units). */
export const MAX_CONSOLE_BYTES = 100 * 1024;

export interface ConsoleAsk {
  serverId: string;
  /** Last N lines; absent = all (up to MAX_CONSOLE_BYTES). */
  length?: number;
}

/** The owner's answer: the text, or why it could not read it (the asker turns that into a named error). */
export type ConsoleAnswer = { ok: true; output: string } | { ok: false; code: string; message: string };

export function readConsoleAsk(body: unknown): ConsoleAsk {
  const f = fields(body, "body");
  const length = f.optional("length", (x, p) => expectCount(x, p, { max: 1_000_000 }));
  return { serverId: f.string("serverId", { min: 1, max: 256 }), ...(length !== undefined ? { length } : {}) };
}

export function readConsoleAnswer(body: unknown): ConsoleAnswer {
  const f = fields(body, "body");
  if (f.bool("ok")) return { ok: true, output: f.field("output", (x, p) => expectString(x, p, { max: MAX_CONSOLE_BYTES })) };
  return { ok: false, code: f.string("code", { max: 64 }), message: f.string("message", { max: 1024 }) };
}
