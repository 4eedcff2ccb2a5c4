// The guest kernel kit: Debian's 6.1 kernel package (the one linux-image-amd64 depends on), fetched
// with apt once and unpacked into a cache dir: the bzImage (for bootloaders), an uncompressed
// vmlinux (QEMU boots it PVH with -kernel, skipping real-mode setup: much faster under TCG) and
// the full modules tree with a modules.dep (the package ships none; `depmod -b` makes it).
// Used by the test image, the initramfs builder and the LVM test guest.
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { localRunner, type Runner } from "../run.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import { cacheDir } from "./paths.ts";

export interface KernelKit {
  /** The Debian package, e.g. linux-image-6.1.0-56-amd64. */
  pkg: string;
  /** Kernel release, e.g. 6.1.0-56-amd64 (the dir under modulesDir). */
  kver: string;
  /** Compressed bzImage as shipped (for syslinux/grub). */
  vmlinuz: string;
  /** Uncompressed ELF with a PVH note: `qemu -kernel vmlinux`. */
  vmlinux: string;
  /** Holds `<kver>/` with modules.dep. */
  modulesDir: string;
}

export interface KernelOptions {
  /** Default: .peerstack/cache/kernel */
  cacheDir?: string;
  runner?: Runner;
  log?: (msg: string) => void;
}

export class KernelKitError extends PeerstackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("KERNEL_KIT_FAILED", options?.cause instanceof Error ? `${message}: ${options.cause.message}` : message, options);
  }
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** The versioned kernel package apt would install for linux-image-amd64 (apt-get update only if apt knows none). */
export async function kernelPackageName(runner: Runner = localRunner, log: (m: string) => void = () => {}): Promise<string> {
  const pick = (out: string) => /Depends: (linux-image-6\.1\.[0-9][^\s]*-amd64)\b/.exec(out)?.[1];
  const ask = () => runner.run("apt-cache", ["depends", "linux-image-amd64"]).then((r) => pick(r.stdout), () => undefined);
  let found = await ask();
  if (!found) {
    log("kernel: apt knows no linux-image-6.1.*-amd64; running apt-get update");
    await runner.run("apt-get", ["update", "-qq"], { timeoutMs: 600_000 });
    found = await ask();
  }
  if (!found) throw new KernelKitError("no linux-image-6.1.*-amd64 package behind linux-image-amd64");
  return found;
}

async function readKit(dir: string, pkg: string): Promise<KernelKit | undefined> {
  try {
    const [kver] = await readdir(join(dir, "modules"));
    const kit = { pkg, kver, vmlinuz: join(dir, "vmlinuz"), vmlinux: join(dir, "vmlinux"), modulesDir: join(dir, "modules") };
    await stat(join(kit.modulesDir, kver, "modules.dep"));
    const head = Buffer.alloc(4);
    const f = await open(kit.vmlinux);
    await f.read(head, 0, 4, 0).finally(() => f.close());
    return head.equals(ELF_MAGIC) && (await stat(kit.vmlinuz)).size > 0 ? kit : undefined;
  } catch {
    return undefined;
  }
}

/** Every offset of the xz stream magic in a bzImage (the first is almost always the payload). */
export function xzOffsets(image: Buffer): number[] {
  const out: number[] = [];
  for (let i = image.indexOf(XZ_MAGIC); i >= 0; i = image.indexOf(XZ_MAGIC, i + 1)) out.push(i);
  return out;
}

/** extract-vmlinux for xz: decompress the payload at the first offset that yields an ELF. */
export async function extractVmlinux(vmlinuz: string, out: string, runner: Runner = localRunner): Promise<void> {
  for (const off of xzOffsets(await readFile(vmlinuz))) {
    // xz complains about the trailing bytes after the stream; the ELF check decides.
    await runner.run("sh", ["-c", 'tail -c +"$1" "$2" | xz -dc > "$3" 2>/dev/null; true', "sh", String(off + 1), vmlinuz, out], { timeoutMs: 300_000 });
    const head = await readFile(out).then((b) => b.subarray(0, 4), () => Buffer.alloc(0));
    if (head.equals(ELF_MAGIC)) return;
  }
  await rm(out, { force: true });
  throw new KernelKitError(`${vmlinuz}: no xz payload decompresses to an ELF kernel`);
}

/** Returns the cached kernel kit, fetching and unpacking it first if needed (~15 s once). Idempotent and race-safe. */
export async function guestKernel(opts: KernelOptions = {}): Promise<KernelKit> {
  const runner = opts.runner ?? localRunner;
  const log = opts.log ?? (() => {});
  const root = opts.cacheDir ?? cacheDir("kernel");
  // A kit already in the cache wins (no apt call at all): newest package name first.
  const cached = (await readdir(root).catch(() => [] as string[])).filter((n) => n.startsWith("linux-image-") && !n.includes(".partial")).sort().reverse();
  for (const pkg of cached) {
    const kit = await readKit(join(root, pkg), pkg);
    if (kit) return kit;
  }
  const pkg = await kernelPackageName(runner, log);
  const final = join(root, pkg);
  const work = `${final}.partial-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    log(`kernel: downloading ${pkg}`);
    await runner.run("apt-get", ["download", "-q", pkg], { cwd: work, timeoutMs: 600_000 });
    const [deb] = (await readdir(work)).filter((n) => n.endsWith(".deb"));
    if (!deb) throw new KernelKitError(`apt-get download ${pkg} left no .deb`);
    log(`kernel: unpacking ${deb}`);
    await runner.run("dpkg", ["-x", join(work, deb), join(work, "k")], { timeoutMs: 300_000 });
    await rm(join(work, deb));
    const [kver] = await readdir(join(work, "k/lib/modules"));
    log(`kernel: depmod ${kver}`);
    await runner.run("depmod", ["-b", join(work, "k"), kver], { timeoutMs: 300_000 });
    const [vmlinuz] = (await readdir(join(work, "k/boot"))).filter((n) => n.startsWith("vmlinuz-"));
    if (!vmlinuz) throw new KernelKitError(`${pkg} has no /boot/vmlinuz-*`);
    await rename(join(work, "k/boot", vmlinuz), join(work, "vmlinuz"));
    log("kernel: extracting the uncompressed vmlinux");
    await extractVmlinux(join(work, "vmlinuz"), join(work, "vmlinux"), runner);
    await rename(join(work, "k/lib/modules"), join(work, "modules"));
    await rm(join(work, "k"), { recursive: true, force: true });
    await rename(work, final).catch(async (err: unknown) => {
      if (!(await readKit(final, pkg))) throw err; // else: another process won the race
      await rm(work, { recursive: true, force: true });
    });
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err instanceof PeerstackError ? err : new KernelKitError(`fetching kernel ${pkg}`, { cause: err });
  }
  const kit = await readKit(final, pkg);
  if (!kit) throw new KernelKitError(`kernel cache ${final} is incomplete`);
  log(`kernel: ${kit.kver} ready in ${final}`);
  return kit;
}
