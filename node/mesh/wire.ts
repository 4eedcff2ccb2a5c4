// Mesh messages in the project's versioned envelope (protocol/codec.ts: {v, type, from, hlc, body},
// msgpack, defensive decode). A higher minor version is read; another major is refused with
// UnsupportedVersionError, which the receivers count and log.
import { decode as decodeEnvelope, DecodeError, encode as encodeEnvelope, UnsupportedVersionError, type Envelope } from "../../protocol/codec.ts";
import type { HlcTimestamp } from "../../protocol/hlc.ts";

export { DecodeError as WireDecodeError, UnsupportedVersionError as WireVersionError };
export type { Envelope };

/** Anti-entropy batches and gossip batches are bigger than the codec's 1 MiB default. */
const MESH_MAX_BYTES = 32 * 1024 * 1024;

export function encode<B>(type: string, from: string, body: B, hlc?: HlcTimestamp, v?: string): Uint8Array {
  return encodeEnvelope<B>({ type, from, hlc: hlc ?? { wallMs: 0, counter: 0, node: from }, body, v }, { maxBytes: MESH_MAX_BYTES });
}

/** Decodes and checks the envelope; `expect` lists the accepted types. */
export function decode<B>(data: Uint8Array, expect?: readonly string[]): Envelope<B> {
  const env = decodeEnvelope(data, { maxBytes: MESH_MAX_BYTES });
  if (expect && !expect.includes(env.type)) throw new DecodeError("type", `unexpected type "${env.type}"`);
  return env as Envelope<B>;
}
