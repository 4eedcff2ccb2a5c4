// Wire codec: every message is a msgpack map `{v, type, from, hlc, body}`.
//  - `v` is the protocol version "major.minor". A decoder accepts any minor of a major it knows
//    (newer minors only add optional fields and message types; unknown fields are dropped) and
//    refuses another major with UnsupportedVersionError. Every major keeps `v` in a top-level map.
//  - Plain maps only (`useRecords: false`): any node decodes any message without shared structures.
//  - Decoding is defensive: size cap, a structural pre-scan (codec-scan.ts), then envelope and
//    per-type body validation. Bad input raises DecodeError, never anything else.
// Value mapping: numbers round-trip exactly except -0, which msgpackr packs as 0; undefined object
// fields are omitted (undefined in arrays becomes null); Uint8Array round-trips as bytes; Dates,
// Maps with non-string keys, bigints beyond 2^53 and class instances are refused by encode.
import { Packr, Unpackr } from "msgpackr";
import { PeerstackError } from "./errors.ts";
import type { HlcTimestamp } from "./hlc.ts";
import { DEFAULT_SCAN_LIMITS, scanMsgpack, type ScanLimits } from "./codec-scan.ts";
import { DecodeError, expectHlc, expectNodeId, expectRecord, expectString } from "./validate.ts";

export { DecodeError } from "./validate.ts";

export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 0;
export const PROTOCOL_VERSION = `${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}`;

/** Default cap on one encoded message. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Message type names: lower case, dot-separated words ("capacity.advert", "auction.bid"). */
export const MESSAGE_TYPE_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

export interface Envelope<B = unknown> {
  /** Protocol version the sender spoke, "major.minor". */
  v: string;
  type: string;
  /** Sender's node id. */
  from: string;
  /** Sender's HLC when it sent the message. */
  hlc: HlcTimestamp;
  body: B;
}

/** A message from a major version this node does not speak. */
export class UnsupportedVersionError extends PeerstackError {
  readonly major: number;
  readonly minor: number;
  constructor(major: number, minor: number) {
    super("UNSUPPORTED_VERSION", `protocol version ${major}.${minor} is not supported (this node speaks ${PROTOCOL_VERSION})`);
    this.major = major;
    this.minor = minor;
  }
}

/** A message that cannot be encoded (bad envelope, invalid body, unsupported value, too large). */
export class EncodeError extends PeerstackError {
  constructor(type: string, problem: string, options?: { cause?: unknown }) {
    super("ENCODE", `encoding message "${type}": ${problem}`, options);
  }
}

export class DuplicateMessageTypeError extends PeerstackError {
  constructor(type: string) {
    super("DUPLICATE_MESSAGE_TYPE", `message type "${type}" is already registered`);
  }
}

/** A message type: its name and the validator that turns a decoded body into `B`. */
export interface MessageType<B> {
  readonly type: string;
  /** Throws DecodeError (with `path` in it) unless `body` is a valid `B`; returns the typed body. */
  readonly validate: (body: unknown, path: string) => B;
}

/** Body validators by message type name. */
export class MessageRegistry {
  private readonly types = new Map<string, MessageType<unknown>>();

  define<B>(type: string, validate: (body: unknown, path: string) => B): MessageType<B> {
    if (!MESSAGE_TYPE_PATTERN.test(type) || type.length > 64) throw new TypeError(`bad message type name "${type}"`);
    if (this.types.has(type)) throw new DuplicateMessageTypeError(type);
    const mt: MessageType<B> = Object.freeze({ type, validate });
    this.types.set(type, mt);
    return mt;
  }

  get(type: string): MessageType<unknown> | undefined {
    return this.types.get(type);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }
}

/** The registry modules add their message types to at import time (`defineMessage`). */
export const messages = new MessageRegistry();

/** Registers a message type in the default registry: `export const Bid = defineMessage("auction.bid", readBid)`. */
export function defineMessage<B>(type: string, validate: (body: unknown, path: string) => B): MessageType<B> {
  return messages.define(type, validate);
}

/** Narrows a decoded envelope (whose body the registry already validated) to a message type. */
export function isMessage<B>(env: Envelope<unknown>, mt: MessageType<B>): env is Envelope<B> {
  return env.type === mt.type;
}

export interface CodecOptions {
  /** Largest encoded message accepted (default 1 MiB). */
  maxBytes?: number;
  /** Structural limits (depth, string, binary, container sizes). */
  limits?: Partial<ScanLimits>;
  /** Where body validators are looked up (default: `messages`). */
  registry?: MessageRegistry;
}

// skipValues (omit undefined object fields) exists in msgpackr 2.x but is missing from its typings.
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
} as ConstructorParameters<typeof Packr>[0]);

// int64AsType "number" is exact here because the pre-scan refuses 64-bit integers beyond 2^53.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number", copyBuffers: true });

/** Type names that passed MESSAGE_TYPE_PATTERN: a node sees a few dozen, every message names one. */
const goodTypeNames = new Set<string>();

function isTypeName(type: unknown): type is string {
  if (typeof type !== "string") return false;
  if (goodTypeNames.has(type)) return true;
  if (type.length > 64 || !MESSAGE_TYPE_PATTERN.test(type)) return false;
  if (goodTypeNames.size < 1024) goodTypeNames.add(type);
  return true;
}

function scanLimits(opts: CodecOptions): ScanLimits {
  return opts.limits ? { ...DEFAULT_SCAN_LIMITS, ...opts.limits } : DEFAULT_SCAN_LIMITS;
}

const CURRENT_VERSION = Object.freeze({ major: PROTOCOL_MAJOR, minor: PROTOCOL_MINOR });

/** Parses "major.minor"; undefined when malformed. */
export function parseVersion(v: string): { major: number; minor: number } | undefined {
  if (v === PROTOCOL_VERSION) return CURRENT_VERSION; // nearly every message: no regex
  const m = /^(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})$/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** Encodes a message; `v` defaults to this node's protocol version. */
export function encode<B>(env: Omit<Envelope<B>, "v"> & { v?: string }, opts: CodecOptions = {}): Uint8Array {
  const type = env.type;
  const v = env.v ?? PROTOCOL_VERSION;
  try {
    if (!isTypeName(type)) throw new Error("bad type name");
    if (!parseVersion(v)) throw new Error(`bad version "${v}"`);
    expectNodeId(env.from, "from");
    expectHlc(env.hlc, "hlc");
    (opts.registry ?? messages).get(type)?.validate(env.body, "body");
  } catch (cause) {
    throw new EncodeError(String(type), cause instanceof Error ? cause.message : String(cause), { cause });
  }
  const hlc = { wallMs: env.hlc.wallMs, counter: env.hlc.counter, node: env.hlc.node };
  let bytes: Uint8Array;
  try {
    bytes = packr.pack({ v, type, from: env.from, hlc, body: env.body });
  } catch (cause) {
    throw new EncodeError(type, `cannot pack: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.length > maxBytes) throw new EncodeError(type, `${bytes.length} bytes exceed the ${maxBytes}-byte limit`);
  // What we send must be what every peer accepts: same structural check as decode.
  try {
    scanMsgpack(bytes, scanLimits(opts));
  } catch (cause) {
    throw new EncodeError(type, `body holds a value the wire does not carry: ${(cause as Error).message}`, { cause });
  }
  return bytes;
}

/**
 * Decodes and validates one message. Throws DecodeError for anything malformed and
 * UnsupportedVersionError for another major. Bodies of registered types are validated (and may be
 * normalised) by their validator; bodies of unregistered types are returned as plain data.
 */
export function decode(bytes: Uint8Array, opts: CodecOptions = {}): Envelope<unknown> {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("", "input is not bytes");
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.length > maxBytes) throw new DecodeError("", `${bytes.length} bytes exceed the ${maxBytes}-byte limit`);
  if (bytes.length === 0) throw new DecodeError("", "empty input");
  scanMsgpack(bytes, scanLimits(opts));
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (cause) {
    throw new DecodeError("", `malformed msgpack: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const top = expectRecord(raw, "envelope");
  const vText = expectString(top.v, "v", { max: 16 });
  const version = parseVersion(vText);
  if (!version) throw new DecodeError("v", `not a "major.minor" version: "${vText}"`);
  if (version.major !== PROTOCOL_MAJOR) throw new UnsupportedVersionError(version.major, version.minor);
  const type = isTypeName(top.type) ? top.type : expectString(top.type, "type", { max: 64, pattern: MESSAGE_TYPE_PATTERN });
  const from = expectNodeId(top.from, "from");
  const hlc = expectHlc(top.hlc, "hlc");
  const mt = (opts.registry ?? messages).get(type);
  let body: unknown = top.body;
  if (mt) {
    try {
      body = mt.validate(top.body, "body");
    } catch (cause) {
      if (cause instanceof DecodeError) throw cause;
      // A validator bug must not escape as a crash of the receive path.
      throw new DecodeError("body", `validator for "${type}" failed: ${String(cause)}`, { cause });
    }
  }
  return { v: vText, type, from, hlc, body };
}

/** Decodes a message that must be of type `mt` (e.g. the answer of a direct request). */
export function decodeAs<B>(bytes: Uint8Array, mt: MessageType<B>, opts: CodecOptions = {}): Envelope<B> {
  const env = decode(bytes, opts);
  if (env.type !== mt.type) throw new DecodeError("type", `expected "${mt.type}", got "${env.type}"`);
  // Validate even if mt lives in another registry than the one decode used.
  const registered = (opts.registry ?? messages).get(mt.type);
  return { ...env, body: registered === mt ? (env.body as B) : mt.validate(env.body, "body") };
}
