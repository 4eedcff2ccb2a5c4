// Errors shared by all drivers: a command that failed, and a method a driver does not implement.
import { PeerstackError } from "../protocol/errors.ts";

/**
 * A command exited non-zero, was killed (timeout or signal) or could not start.
 * `code` is the stable PeerstackError code ("COMMAND_FAILED"); the process's exit status is
 * `exitCode` (null when it was killed by a signal or never started).
 */
export class CommandError extends PeerstackError {
  readonly cmd: string;
  readonly args: string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  constructor(init: { cmd: string; args: string[]; exitCode: number | null; signal?: string | null; timedOut?: boolean; stdout?: string; stderr?: string; cause?: unknown }) {
    const why = init.timedOut
      ? "timed out"
      : init.exitCode !== null
        ? `exited with code ${init.exitCode}`
        : init.signal
          ? `was killed by ${init.signal}`
          : "could not start";
    const tail = (init.stderr ?? "").trim().split("\n").slice(-3).join(" | ");
    const cause = init.cause instanceof Error ? `: ${init.cause.message}` : "";
    super("COMMAND_FAILED", `${[init.cmd, ...init.args].join(" ")} ${why}${tail ? `: ${tail}` : cause}`, { cause: init.cause });
    this.cmd = init.cmd;
    this.args = init.args;
    this.exitCode = init.exitCode;
    this.signal = init.signal ?? null;
    this.timedOut = init.timedOut ?? false;
    this.stdout = init.stdout ?? "";
    this.stderr = init.stderr ?? "";
  }
}

/** The driver does not implement this method (STYLE rule 1): callers must not guess a fallback. */
export class NotSupportedError extends PeerstackError {
  readonly driver: string;
  readonly method: string;
  constructor(driver: string, method: string) {
    super("NOT_SUPPORTED", `driver "${driver}" does not support ${method}`);
    this.driver = driver;
    this.method = method;
  }
}
