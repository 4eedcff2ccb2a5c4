// The peerstack test image: a self-contained BIOS-bootable qcow2 (MBR + syslinux on a FAT boot
// partition holding the kernel and the stage-1 initramfs, and an ext4 root made with
// `mkfs.ext4 -d`, no mounts needed) with a busybox userland that takes its hostname/IP/MTU/
// gateway/SSH keys from fw_cfg, prints a ready marker on the serial console, answers ping and
// powers off on the ACPI power button. The same kernel (as PVH vmlinux) and initramfs are kept
// beside it for direct kernel boot, which is much faster under TCG. Cached under a key over
// every input of the build.
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile, copyFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { localRunner, type Runner } from "../run.ts";
import { guestKernel, type KernelKit } from "./kernel.ts";
import { buildInitramfs, populateRoot, rootSpecKey, type RootSpec } from "./initramfs.ts";
import { peerstackHome } from "./paths.ts";
import { withBuildLock } from "./build-lock.ts";
import * as s from "./test-image-scripts.ts";

export interface TestImage {
  /** Self-contained bootable disk (upload it to Glance). */
  qcow2: string;
  /** For direct kernel boot: -kernel vmlinux -initrd initrd -append cmdline (root stays on the disk). */
  vmlinux: string;
  initrd: string;
  cmdline: string;
  kver: string;
  /** Hash of the builder's inputs. */
  key: string;
}

export interface BuildTestImageOptions {
  /** Default .peerstack/images */
  outDir?: string;
  /** Default peerstack-test */
  name?: string;
  runner?: Runner;
  log?: (msg: string) => void;
  /** Rebuild even when the cached image matches. */
  force?: boolean;
}

const BUILDER_VERSION = "test-image-v1";
const BOOT_MB = 32;
const ROOT_MB = 64;
export const TEST_IMAGE_CMDLINE = "console=ttyS0 quiet mitigations=off init_on_alloc=0 tsc=reliable ps.root=LABEL=psroot";

const SYSLINUX_CFG = `DEFAULT peerstack
PROMPT 0
TIMEOUT 0
LABEL peerstack
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND ${TEST_IMAGE_CMDLINE}
`;

function stage1Spec(kernel: KernelKit): RootSpec {
  return { kernel, modules: s.TEST_IMAGE_MODULES, dirs: ["newroot"], files: { init: { content: s.STAGE1_INIT, mode: 0o755 } } };
}

function rootSpec(kernel: KernelKit): RootSpec {
  return {
    kernel,
    modules: s.TEST_IMAGE_MODULES,
    dirs: ["etc/acpi/PWRF", "root"],
    files: {
      "etc/inittab": { content: s.INITTAB },
      "etc/rc.boot": { content: s.RC_BOOT, mode: 0o755 },
      "etc/rc.shutdown": { content: s.RC_SHUTDOWN, mode: 0o755 },
      "etc/rc.reboot": { content: s.RC_REBOOT, mode: 0o755 },
      "etc/acpi/PWRF/00000080": { content: s.ACPI_POWER, mode: 0o755 },
      "etc/udhcpc.script": { content: s.UDHCPC_SCRIPT, mode: 0o755 },
      "etc/hostname": { content: "peerstack-test\n" },
      "etc/passwd": { content: "root:x:0:0:root:/root:/bin/sh\n" },
      "etc/group": { content: "root:x:0:\n" },
      "etc/os-release": { content: 'NAME="peerstack test image"\nID=peerstack-test\n' },
    },
  };
}

async function readManifest(path: string): Promise<TestImage | undefined> {
  try {
    const m = JSON.parse(await readFile(path, "utf8")) as TestImage;
    for (const f of [m.qcow2, m.vmlinux, m.initrd]) if (!(await stat(f)).size) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/** Builds the test image (or returns the cached one when its inputs have not changed). */
export async function buildTestImage(opts: BuildTestImageOptions = {}): Promise<TestImage> {
  const runner = opts.runner ?? localRunner;
  const log = opts.log ?? (() => {});
  const outDir = opts.outDir ?? join(peerstackHome(), "images");
  const name = opts.name ?? "peerstack-test";
  const kernel = await guestKernel({ runner, log });
  const stage1 = stage1Spec(kernel);
  const root = rootSpec(kernel);
  const key = createHash("sha256")
    .update([BUILDER_VERSION, kernel.pkg, await rootSpecKey(stage1), await rootSpecKey(root), SYSLINUX_CFG, TEST_IMAGE_CMDLINE, String(BOOT_MB), String(ROOT_MB)].join("\0"))
    .digest("hex")
    .slice(0, 16);
  const manifestPath = join(outDir, `${name}.json`);
  const cached = await readManifest(manifestPath);
  if (cached && cached.key === key && !opts.force) return cached;
  await mkdir(outDir, { recursive: true });
  // One builder at a time: replacing the base under a VM booted from an overlay would corrupt it.
  return withBuildLock(join(outDir, `.${name}.lock`), async () => {
    const now = await readManifest(manifestPath);
    if (!opts.force && now && now.key === key) return now;
    return build(kernel, stage1, root, { outDir, name, key, manifestPath, runner, log });
  });
}

interface BuildInput {
  outDir: string;
  name: string;
  key: string;
  manifestPath: string;
  runner: Runner;
  log: (msg: string) => void;
}

async function build(kernel: KernelKit, stage1: RootSpec, root: RootSpec, { outDir, name, key, manifestPath, runner, log }: BuildInput): Promise<TestImage> {
  const t0 = process.hrtime.bigint();
  log(`test image: building ${name} (key ${key})`);
  const initrdCached = await buildInitramfs(stage1, { name: "test-image-stage1", runner, log });
  const t = await mkdtemp(join(outDir, `.${name}-build-`));
  try {
    const run = (cmd: string, args: string[]) => runner.run(cmd, args, { timeoutMs: 300_000 });
    log("test image: root filesystem (ext4, mkfs.ext4 -d)");
    await populateRoot(join(t, "root"), root, runner);
    // Same inputs, same filesystem ids: a rebuild is interchangeable under existing overlays.
    const uuid = `${key.slice(0, 8)}-${key.slice(8, 12)}-4${key.slice(13, 16)}-8${key.slice(1, 4)}-${key.slice(4, 16)}`;
    await run("mkfs.ext4", ["-q", "-F", "-L", "psroot", "-U", uuid, "-E", `hash_seed=${uuid}`, "-d", join(t, "root"), join(t, "root.img"), `${ROOT_MB}M`]);
    log("test image: boot partition (FAT + syslinux)");
    await run("mkfs.vfat", ["-n", "PSBOOT", "-i", key.slice(0, 8), "-C", join(t, "boot.img"), String(BOOT_MB * 1024)]);
    await writeFile(join(t, "syslinux.cfg"), SYSLINUX_CFG);
    await run("mcopy", ["-i", join(t, "boot.img"), kernel.vmlinuz, "::vmlinuz"]);
    await run("mcopy", ["-i", join(t, "boot.img"), initrdCached, "::initrd.gz"]);
    await run("mcopy", ["-i", join(t, "boot.img"), join(t, "syslinux.cfg"), "::syslinux.cfg"]);
    log("test image: disk (MBR, partitions, syslinux)");
    const disk = join(t, "disk.raw");
    await run("truncate", ["-s", `${1 + BOOT_MB + ROOT_MB + 1}M`, disk]);
    await runner.run("sfdisk", ["-q", disk], {
      input: `label: dos\nstart=2048, size=${BOOT_MB * 2048}, type=c, bootable\nstart=${2048 + BOOT_MB * 2048}, size=${ROOT_MB * 2048}, type=83\n`,
    });
    await run("dd", ["if=/usr/lib/syslinux/mbr/mbr.bin", `of=${disk}`, "conv=notrunc", "bs=440", "count=1", "status=none"]);
    await run("dd", [`if=${join(t, "boot.img")}`, `of=${disk}`, "conv=notrunc,sparse", "bs=1M", "seek=1", "status=none"]);
    await run("dd", [`if=${join(t, "root.img")}`, `of=${disk}`, "conv=notrunc,sparse", "bs=1M", `seek=${1 + BOOT_MB}`, "status=none"]);
    await run("syslinux", ["--install", "--offset", String(1024 * 1024), disk]);
    log("test image: converting to qcow2");
    await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", disk, join(t, "image.qcow2")]);
    const image: TestImage = {
      qcow2: join(outDir, `${name}.qcow2`),
      vmlinux: join(outDir, `${name}.vmlinux`),
      initrd: join(outDir, `${name}.initrd.gz`),
      cmdline: TEST_IMAGE_CMDLINE,
      kver: kernel.kver,
      key,
    };
    // Copy then rename: a concurrent builder or a running VM never sees a half-written file.
    await copyFile(kernel.vmlinux, join(t, "vmlinux"));
    await copyFile(initrdCached, join(t, "initrd.gz"));
    await rename(join(t, "image.qcow2"), image.qcow2);
    await rename(join(t, "vmlinux"), image.vmlinux);
    await rename(join(t, "initrd.gz"), image.initrd);
    await writeFile(join(t, "manifest.json"), JSON.stringify(image, null, 2) + "\n");
    await rename(join(t, "manifest.json"), manifestPath);
    log(`test image: ${image.qcow2} ready in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
    return image;
  } finally {
    await rm(t, { recursive: true, force: true });
  }
}
