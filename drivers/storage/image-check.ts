// Checks an image file before anything opens it for use (import, convert, boot): the classic qcow2
// hole is a file whose header names a host file (backing file, external data file) that QEMU then
// reads into the guest. The declared disk format is the only format ever used: qemu-img is always
// given `-f`, and content that is another disk format than declared is refused (never re-read as it).
import { PeerstackError } from "../../protocol/errors.ts";
import type { CommandRunner } from "./interface.ts";

/** Formats QEMU opens the image as: raw bytes, or a standalone qcow2. */
export type QemuImageFormat = "raw" | "qcow2";

/** Largest virtual size accepted by default (a guest disk larger than this is a mistake or an attack). */
export const DEFAULT_MAX_VIRTUAL_BYTES = 2 * 1024 ** 4;

/** Glance disk formats peerstack boots, and the one QEMU format each is opened as. */
const QEMU_FORMAT: Record<string, QemuImageFormat> = { raw: "raw", iso: "raw", aki: "raw", ari: "raw", ami: "raw", qcow2: "qcow2" };

/** An image file that must never be used: the reason is what its owner sees. */
export class UnsafeImageError extends PeerstackError {
  readonly reason: string;
  constructor(what: string, reason: string) {
    super("UNSAFE_IMAGE", `${what}: ${reason}`);
    this.reason = reason;
  }
}

export interface ImageCheck {
  format: QemuImageFormat;
  virtualSize: number;
}

/** The QEMU format a Glance disk_format is opened as; UnsafeImageError for formats peerstack does not open. */
export function qemuFormatOf(diskFormat: unknown, what = "image"): QemuImageFormat {
  const f = typeof diskFormat === "string" ? QEMU_FORMAT[diskFormat] : undefined;
  if (!f) throw new UnsafeImageError(what, `disk_format ${String(diskFormat)} is not supported here (raw, iso, aki, ari, ami or qcow2)`);
  return f;
}

/** Magic bytes of disk formats that can name other files, or that QEMU would read differently from raw. */
const FOREIGN_MAGIC: [string, number, Buffer][] = [
  ["qcow2", 0, Buffer.from([0x51, 0x46, 0x49, 0xfb])],
  ["qed", 0, Buffer.from("QED\0", "latin1")],
  ["vmdk", 0, Buffer.from("KDMV", "latin1")],
  ["vmdk", 0, Buffer.from("# Disk DescriptorFile", "latin1")],
  ["vhdx", 0, Buffer.from("vhdxfile", "latin1")],
  ["vhd", 0, Buffer.from("conectix", "latin1")],
  ["vdi", 64, Buffer.from([0x7f, 0x10, 0xda, 0xbe])],
];

/** Which foreign disk format the first bytes of a file are, if any. */
export function foreignFormat(head: Buffer): string | undefined {
  for (const [name, at, magic] of FOREIGN_MAGIC) if (head.length >= at + magic.length && head.subarray(at, at + magic.length).equals(magic)) return name;
  return undefined;
}

/** What a qcow2 header says that must refuse it before qemu-img even opens the file. */
export function qcow2HeaderProblem(head: Buffer): string | undefined {
  if (head.length < 72 || head.readUInt32BE(0) !== 0x514649fb) return "the content is not a qcow2 image";
  if (head.readBigUInt64BE(8) !== 0n || head.readUInt32BE(16) !== 0) return "a qcow2 image with a backing file is not accepted";
  const version = head.readUInt32BE(4);
  // Incompatible feature bit 2: the guest's data lives in an external data file (a host path).
  if (version >= 3 && head.length >= 80 && (head.readBigUInt64BE(72) & 4n) !== 0n) return "a qcow2 image with an external data file is not accepted";
  return undefined;
}

/** The first 4 KiB, read through the runner (the file may be inside a test guest): od prints them as hex. */
async function readHead(runner: CommandRunner, path: string): Promise<Buffer> {
  const { stdout } = await runner.run("od", ["-An", "-v", "-tx1", "-N", "4096", path], { timeoutMs: 30_000 });
  return Buffer.from(stdout.replace(/\s+/g, ""), "hex");
}

interface QemuImgInfo {
  format?: string;
  "virtual-size"?: number;
  "backing-filename"?: string;
  "full-backing-filename"?: string;
  "format-specific"?: { data?: Record<string, unknown> };
}

/**
 * Refuses (UnsafeImageError) a file that is not exactly the declared format, names a backing or
 * external data file, or is larger than `maxVirtualBytes`. Reads the header itself first, then asks
 * `qemu-img info -f <declared>` (never a probe) for the format's own validation and the virtual size.
 */
export async function checkImage(runner: CommandRunner, path: string, diskFormat: unknown, opts: { what?: string; maxVirtualBytes?: number } = {}): Promise<ImageCheck> {
  const what = opts.what ?? "image";
  const max = opts.maxVirtualBytes ?? DEFAULT_MAX_VIRTUAL_BYTES;
  const format = qemuFormatOf(diskFormat, what);
  const head = await readHead(runner, path);
  const foreign = foreignFormat(head);
  if (format === "raw" && foreign) throw new UnsafeImageError(what, `the content is a ${foreign} image but disk_format is ${String(diskFormat)}`);
  if (format === "qcow2") {
    const problem = qcow2HeaderProblem(head);
    if (problem) throw new UnsafeImageError(what, problem);
  }
  let info: QemuImgInfo;
  try {
    const { stdout } = await runner.run("qemu-img", ["info", "--output=json", "-f", format, path], { timeoutMs: 60_000 });
    info = JSON.parse(stdout) as QemuImgInfo;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new UnsafeImageError(what, `qemu-img cannot read it as ${format}${stderr ? `: ${stderr.split("\n")[0]}` : ""}`);
  }
  const data = info["format-specific"]?.data ?? {};
  if (info.format !== format) throw new UnsafeImageError(what, `qemu-img reads it as ${String(info.format)}, not ${format}`);
  if (info["backing-filename"] !== undefined || info["full-backing-filename"] !== undefined) throw new UnsafeImageError(what, "a qcow2 image with a backing file is not accepted");
  if (data["data-file"] !== undefined) throw new UnsafeImageError(what, "a qcow2 image with an external data file is not accepted");
  const virtualSize = info["virtual-size"];
  if (typeof virtualSize !== "number" || !Number.isSafeInteger(virtualSize) || virtualSize < 0) throw new UnsafeImageError(what, "qemu-img reports no virtual size");
  if (virtualSize > max) throw new UnsafeImageError(what, `virtual size ${virtualSize} bytes is above the limit of ${max} bytes`);
  return { format, virtualSize };
}
