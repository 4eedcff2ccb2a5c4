// Storage failures, one class per failure; each message names the object it concerns.
import { PeerstackError } from "../../protocol/errors.ts";

/** A storage operation failed; `cause` holds the underlying CommandError or fs error. */
export class StorageError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORAGE_FAILED", options?.cause instanceof Error ? `${message}: ${options.cause.message}` : message, options);
  }
}

/** The volume, image or snapshot does not exist on this host. */
export class StorageNotFoundError extends PeerstackError {
  readonly object: string;
  constructor(object: string, action: string) {
    super("STORAGE_NOT_FOUND", `${action}: ${object} does not exist`);
    this.object = object;
  }
}

/** An image or snapshot still has volumes cloned from it, or a volume's device is open. */
export class StorageInUseError extends PeerstackError {
  readonly dependents: string[];
  constructor(object: string, dependents: string[], reason?: string) {
    super("STORAGE_IN_USE", `deleting ${object}: ${reason ?? `still has dependents ${dependents.map((d) => `"${d}"`).join(", ")}`}`);
    this.dependents = dependents;
  }
}

/** A size that the driver cannot honour (shrinking, smaller than the image, not positive). */
export class InvalidSizeError extends PeerstackError {
  constructor(message: string) {
    super("STORAGE_INVALID_SIZE", message);
  }
}

/** The pool does not have room for the request. */
export class InsufficientSpaceError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORAGE_NO_SPACE", message, options);
  }
}

/** The driver does not implement this method (STYLE rule 1); shared by all drivers. */
export { NotSupportedError } from "../errors.ts";
