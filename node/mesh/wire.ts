// Mesh messages in the versioned envelope {v, type, from, hlc, body}, packed with msgpackr. A higher
// minor version is read (unknown body fields are ignored); a higher major is refused with a named error.
// (Stands in for protocol/codec.ts until that lands; the envelope shape is the same.)
import { Packr } from "msgpackr";
import { PeerstackError } from "../../protocol/errors.ts";
import type { HlcTimestamp } from "../../protocol/hlc.ts";

export const WIRE_MAJOR = 1;
export const WIRE_MINOR = 0;

export interface Envelope<B = unknown> {
  /** "major.minor" */
  v: string;
  type: string;
  from: string;
  hlc?: HlcTimestamp;
  body: B;
}

export class WireDecodeError extends PeerstackError {
  constructor(why: string, options?: { cause?: unknown }) {
    super("WIRE_DECODE", `decoding a mesh message: ${why}`, options);
  }
}

export class WireVersionError extends PeerstackError {
  readonly version: string;
  constructor(version: string, type: string) {
    super("WIRE_UNSUPPORTED_VERSION", `mesh message "${type}" has version ${version}; this node speaks ${WIRE_MAJOR}.x`);
    this.version = version;
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encode<B>(type: string, from: string, body: B, hlc?: HlcTimestamp, v = `${WIRE_MAJOR}.${WIRE_MINOR}`): Uint8Array {
  const env: Envelope<B> = { v, type, from, body };
  if (hlc) env.hlc = hlc;
  return packr.pack(env);
}

/** Decodes and checks the envelope; `expect` lists the accepted types. */
export function decode<B>(data: Uint8Array, expect?: readonly string[]): Envelope<B> {
  let env: unknown;
  try {
    env = packr.unpack(data);
  } catch (cause) {
    throw new WireDecodeError("not msgpack", { cause });
  }
  if (env == null || typeof env !== "object") throw new WireDecodeError("not an envelope");
  const e = env as Partial<Envelope<B>>;
  if (typeof e.v !== "string" || typeof e.type !== "string" || typeof e.from !== "string") throw new WireDecodeError("envelope lacks v, type or from");
  const major = Number.parseInt(e.v.split(".")[0], 10);
  if (!Number.isInteger(major)) throw new WireDecodeError(`bad version "${e.v.slice(0, 20)}"`);
  if (major > WIRE_MAJOR) throw new WireVersionError(e.v, e.type);
  if (expect && !expect.includes(e.type)) throw new WireDecodeError(`unexpected type "${e.type.slice(0, 40)}"`);
  return e as Envelope<B>;
}
