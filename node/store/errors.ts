// The store's failures, each with a stable code.
import { PeerstackError } from "../../protocol/errors.ts";

/** The key-value store or CRDT store was used after close(). */
export class StoreClosedError extends PeerstackError {
  constructor(what: string) {
    super("STORE_CLOSED", `${what} is closed`);
  }
}

/** LevelDB failed to open, read or write. */
export class StoreIoError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORE_IO", message, options);
  }
}

/** A write was refused because the store already failed to persist an earlier batch (fail-stop). */
export class StoreFailedError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORE_FAILED", message, options);
  }
}

/** A record's kind, id or fields are not acceptable. */
export class InvalidRecordError extends PeerstackError {
  constructor(message: string) {
    super("INVALID_RECORD", message);
  }
}
