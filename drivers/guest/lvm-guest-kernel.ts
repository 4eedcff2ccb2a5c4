// The LVM test guest's kernel: Debian's current linux-image package, fetched with apt, unpacked
// once into a cache: an uncompressed vmlinux (QEMU boots it PVH, skipping the BIOS dance) and the
// full modules tree with modules.dep (the package ships none). Shaped as GuestKernel.
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { CommandRunner } from "../storage/interface.ts";
import type { GuestKernel } from "./lvm-guest-initramfs.ts";

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** The versioned package linux-image-amd64 currently depends on (e.g. linux-image-6.1.0-56-amd64). */
async function kernelPackage(host: CommandRunner): Promise<string> {
  const pick = (out: string) => /Depends: (linux-image-[0-9][^\s]*)/.exec(out)?.[1];
  let found = pick((await host.run("apt-cache", ["depends", "linux-image-amd64"]).catch(() => ({ stdout: "" }))).stdout);
  if (!found) {
    await host.run("apt-get", ["update", "-qq"], { timeoutMs: 300_000 });
    found = pick((await host.run("apt-cache", ["depends", "linux-image-amd64"])).stdout);
  }
  if (!found) throw new Error("no linux-image package found for linux-image-amd64");
  return found;
}

async function fromCache(dir: string): Promise<GuestKernel | undefined> {
  try {
    const [kver] = await readdir(join(dir, "modules"));
    if (!kver || !(await stat(join(dir, "vmlinux"))).size) return undefined;
    return { vmlinux: join(dir, "vmlinux"), modulesDir: join(dir, "modules"), kver };
  } catch {
    return undefined;
  }
}

/** Returns the cached kernel, fetching and unpacking it first if needed (~10 s once). */
export async function lvmGuestKernel(cacheDir: string, host: CommandRunner): Promise<GuestKernel> {
  const existing = (await readdir(cacheDir).catch(() => [] as string[])).filter((n) => n.startsWith("kernel-linux-image-")).sort();
  for (const n of existing.reverse()) {
    const k = await fromCache(join(cacheDir, n));
    if (k) return k;
  }
  const pkg = await kernelPackage(host);
  const final = join(cacheDir, `kernel-${pkg}`);
  const work = `${final}.partial-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    await host.run("sh", ["-c", 'cd "$1" && apt-get download -q "$2" >/dev/null 2>&1 && dpkg -x ./*.deb k && rm -f ./*.deb', "sh", work, pkg], { timeoutMs: 600_000 });
    const [kver] = await readdir(join(work, "k/lib/modules"));
    await host.run("depmod", ["-b", join(work, "k"), kver], { timeoutMs: 300_000 });
    const [vmlinuz] = (await readdir(join(work, "k/boot"))).filter((n) => n.startsWith("vmlinuz-"));
    const offset = (await readFile(join(work, "k/boot", vmlinuz))).indexOf(XZ_MAGIC);
    if (offset < 0) throw new Error(`${vmlinuz}: no xz payload`);
    // xz complains about the bytes after the payload; the output is checked instead.
    await host.run("sh", ["-c", 'tail -c +"$1" "$2" | xz -dc > "$3" 2>/dev/null; true', "sh", String(offset + 1), join(work, "k/boot", vmlinuz), join(work, "vmlinux")], { timeoutMs: 300_000 });
    const head = (await readFile(join(work, "vmlinux"))).subarray(0, 4);
    if (!head.equals(ELF_MAGIC)) throw new Error(`${vmlinuz}: the xz payload is not an ELF kernel`);
    await rename(join(work, "k/lib/modules"), join(work, "modules"));
    await rm(join(work, "k"), { recursive: true, force: true });
    await rename(work, final).catch(async (err) => {
      if (!(await fromCache(final))) throw err; // another process won the race
      await rm(work, { recursive: true, force: true });
    });
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  const k = await fromCache(final);
  if (!k) throw new Error(`kernel cache ${final} is incomplete`);
  return k;
}
