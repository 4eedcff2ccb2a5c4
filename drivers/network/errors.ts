// Network driver failures, each with a stable code.
import { PeerstackError } from "../../protocol/errors.ts";

/** A request names an invalid value (MAC, interface name, VNI, address). */
export class NetworkInvalidError extends PeerstackError {
  constructor(message: string) {
    super("NETWORK_INVALID", message);
  }
}

/** The network has no bridge on this host (ensureNetwork was not called, or it was deleted). */
export class NetworkNotFoundError extends PeerstackError {
  constructor(networkId: string) {
    super("NETWORK_NOT_FOUND", `network "${networkId}" has no bridge on this host`);
  }
}

/** The underlay interface is missing or does not carry the VTEP address. */
export class UnderlayError extends PeerstackError {
  constructor(message: string) {
    super("NETWORK_UNDERLAY", message);
  }
}

/** A device name the driver needs is held by something else (another network, port or program). */
export class NetworkNameInUseError extends PeerstackError {
  constructor(message: string) {
    super("NETWORK_NAME_IN_USE", message);
  }
}

/** A host command of a multi-step change failed; the steps done before were rolled back. */
export class NetworkChangeError extends PeerstackError {
  constructor(action: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super("NETWORK_CHANGE_FAILED", `${action}: ${why}`, { cause });
  }
}
