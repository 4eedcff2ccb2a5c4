// Reads the few qcow2 header fields the file driver needs (virtual size, backing file) without
// spawning qemu-img per file: list() and usage() stay one readdir plus one small read per file.
import { open } from "node:fs/promises";
import { resolve, dirname } from "node:path";

export interface Qcow2Header {
  virtualSize: number;
  /** Absolute path of the backing file, if any. */
  backingFile?: string;
}

const MAGIC = 0x514649fb; // "QFI\xfb"

export function parseQcow2Header(buf: Buffer, filePath: string): Qcow2Header {
  if (buf.length < 32 || buf.readUInt32BE(0) !== MAGIC) throw new Error(`${filePath} is not a qcow2 file`);
  const backingOffset = Number(buf.readBigUInt64BE(8));
  const backingLength = buf.readUInt32BE(16);
  const virtualSize = Number(buf.readBigUInt64BE(24));
  if (backingOffset === 0 || backingLength === 0) return { virtualSize };
  if (backingOffset + backingLength > buf.length) throw new Error(`${filePath}: backing file name beyond the header read`);
  const name = buf.subarray(backingOffset, backingOffset + backingLength).toString("utf8");
  return { virtualSize, backingFile: resolve(dirname(filePath), name) };
}

export async function readQcow2Header(filePath: string): Promise<Qcow2Header> {
  const fh = await open(filePath, "r");
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseQcow2Header(buf.subarray(0, bytesRead), filePath);
  } finally {
    await fh.close();
  }
}
