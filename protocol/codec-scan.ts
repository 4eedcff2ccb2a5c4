// A structural pre-scan of MessagePack bytes, run before msgpackr sees them. It walks the bytes once,
// without recursion and without allocating per value, and rejects what could make the real decoder
// misbehave on hostile input: length prefixes beyond the buffer (huge allocations), nesting deeper
// than the limit (stack overflow), extension types (Dates, records, structured clones), non-string
// map keys, 64-bit integers that a JS number cannot hold exactly, and trailing bytes.
import { DecodeError } from "./validate.ts";

export interface ScanLimits {
  /** Deepest nesting of arrays/maps (the envelope itself is depth 1). */
  maxDepth: number;
  /** Longest string, in bytes. */
  maxStringBytes: number;
  /** Longest binary blob, in bytes. */
  maxBinBytes: number;
  /** Most items in one array, or entries in one map. */
  maxItems: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = Object.freeze({
  maxDepth: 32,
  maxStringBytes: 256 * 1024,
  maxBinBytes: 1024 * 1024,
  maxItems: 100_000,
});

// 2^53 split into the high 32-bit word: a 64-bit integer is exact as a JS number iff |hi| < this.
const SAFE_HI = 0x200000;

/** Throws DecodeError unless `src` holds exactly one well-formed value within `limits`. Returns the value count. */
export function scanMsgpack(src: Uint8Array, limits: ScanLimits = DEFAULT_SCAN_LIMITS): number {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const end = src.length;
  let pos = 0;
  let values = 0;
  // The open containers: values still to read in each, and whether it is a map (keys at even counts).
  const leftStack: number[] = [];
  const mapStack: boolean[] = [];
  let left = 1;
  let inMap = false;

  const fail = (problem: string): never => {
    throw new DecodeError("", `${problem} (at byte ${pos})`);
  };
  const need = (n: number): void => {
    if (n > end - pos) fail(`truncated: ${n} bytes announced, ${end - pos} left`);
  };
  const open = (n: number, isMap: boolean): void => {
    if (leftStack.length >= limits.maxDepth) fail(`nesting deeper than ${limits.maxDepth}`);
    if (n > limits.maxItems) fail(`${n} items in one container exceed ${limits.maxItems}`);
    const count = isMap ? 2 * n : n;
    if (count > end - pos) fail(`container announces ${count} values but only ${end - pos} bytes are left`);
    leftStack.push(left);
    mapStack.push(inMap);
    left = count;
    inMap = isMap;
  };
  const skipStr = (n: number): void => {
    if (n > limits.maxStringBytes) fail(`string of ${n} bytes exceeds ${limits.maxStringBytes}`);
    need(n);
    pos += n;
  };
  const skipBin = (n: number): void => {
    if (n > limits.maxBinBytes) fail(`binary of ${n} bytes exceeds ${limits.maxBinBytes}`);
    need(n);
    pos += n;
  };

  for (;;) {
    if (left === 0) {
      if (leftStack.length === 0) break;
      left = leftStack.pop()!;
      inMap = mapStack.pop()!;
      continue;
    }
    const isKey = inMap && left % 2 === 0;
    left--;
    values++;
    need(1);
    const b = src[pos++];
    if (isKey && !((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb)) fail("map key is not a string");
    if (b <= 0x7f || b >= 0xe0) continue; // fixint
    if (b <= 0x8f) {
      open(b & 0x0f, true);
      continue;
    }
    if (b <= 0x9f) {
      open(b & 0x0f, false);
      continue;
    }
    if (b <= 0xbf) {
      skipStr(b & 0x1f);
      continue;
    }
    switch (b) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        break;
      case 0xc4:
        need(1);
        pos += 1;
        skipBin(src[pos - 1]);
        break;
      case 0xc5:
        need(2);
        pos += 2;
        skipBin(view.getUint16(pos - 2));
        break;
      case 0xc6:
        need(4);
        pos += 4;
        skipBin(view.getUint32(pos - 4));
        break;
      case 0xca: // float32
        need(4);
        pos += 4;
        break;
      case 0xcb: // float64
        need(8);
        pos += 8;
        break;
      case 0xcc:
      case 0xd0:
        need(1);
        pos += 1;
        break;
      case 0xcd:
      case 0xd1:
        need(2);
        pos += 2;
        break;
      case 0xce:
      case 0xd2:
        need(4);
        pos += 4;
        break;
      case 0xcf: // uint64
        need(8);
        if (view.getUint32(pos) >= SAFE_HI) fail("unsigned integer beyond 2^53");
        pos += 8;
        break;
      case 0xd3: {
        // int64
        need(8);
        const hi = view.getInt32(pos);
        if (hi >= SAFE_HI || hi < -SAFE_HI + 1) fail("integer beyond 2^53");
        pos += 8;
        break;
      }
      case 0xd9:
        need(1);
        pos += 1;
        skipStr(src[pos - 1]);
        break;
      case 0xda:
        need(2);
        pos += 2;
        skipStr(view.getUint16(pos - 2));
        break;
      case 0xdb:
        need(4);
        pos += 4;
        skipStr(view.getUint32(pos - 4));
        break;
      case 0xdc:
        need(2);
        pos += 2;
        open(view.getUint16(pos - 2), false);
        break;
      case 0xdd:
        need(4);
        pos += 4;
        open(view.getUint32(pos - 4), false);
        break;
      case 0xde:
        need(2);
        pos += 2;
        open(view.getUint16(pos - 2), true);
        break;
      case 0xdf:
        need(4);
        pos += 4;
        open(view.getUint32(pos - 4), true);
        break;
      case 0xc1:
        pos--;
        fail("reserved byte 0xc1");
        break;
      default:
        // 0xc7-0xc9 ext 8/16/32, 0xd4-0xd8 fixext: msgpackr maps these to Dates, records, bundles...
        pos--;
        fail(`extension type 0x${b.toString(16)} is not accepted`);
    }
  }
  if (pos !== end) fail(`${end - pos} trailing bytes after the message`);
  return values;
}
