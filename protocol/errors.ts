// One named error class per failure, each with a stable `code` the API gateway maps to HTTP.

export class PeerstackError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A remote HLC timestamp is further ahead of our clock than the configured drift allows. */
export class ClockDriftError extends PeerstackError {
  readonly aheadMs: number;
  constructor(aheadMs: number, maxDriftMs: number, from: string) {
    super("CLOCK_DRIFT", `timestamp from "${from}" is ${aheadMs} ms ahead (max drift ${maxDriftMs} ms)`);
    this.aheadMs = aheadMs;
  }
}
