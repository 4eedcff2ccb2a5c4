// A busybox-static userland with a chosen set of kernel modules (plus their dependencies and a
// fresh modules.dep) and caller-supplied files such as /init. populateRoot() writes the tree into
// a directory (e.g. for `mkfs.ext4 -d`); buildInitramfs() packs it as a gzip'd newc cpio, cached
// under a key over every input, so editing a script or the module list rebuilds it.
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { localRunner, type Runner } from "../run.ts";
import { PeerstackError } from "../../protocol/errors.ts";
import type { KernelKit } from "./kernel.ts";
import { cacheDir } from "./paths.ts";

export interface RootFile {
  content: string | Uint8Array;
  /** Default 0o644; scripts want 0o755. */
  mode?: number;
}

export interface RootSpec {
  kernel: Pick<KernelKit, "kver" | "modulesDir">;
  /** Module names (dashes or underscores), loaded by the caller's init; dependencies are added. */
  modules: string[];
  /** Path (relative to the root, e.g. "init", "etc/acpi/PWRF/00000080") → file. */
  files: Record<string, RootFile>;
  /** Extra empty directories. */
  dirs?: string[];
}

export class ModuleNotFoundError extends PeerstackError {
  constructor(module: string, kver: string) {
    super("KERNEL_MODULE_NOT_FOUND", `kernel module "${module}" is not in ${kver}'s modules.dep`);
  }
}

const BUSYBOX = "/bin/busybox";
const BASE_DIRS = ["bin", "sbin", "dev", "proc", "sys", "tmp", "run", "mnt", "root", "etc", "var/log", "var/run"];

/**
 * Module paths (relative to the kver dir) for `wanted` and everything they depend on, from
 * modules.dep. Modules built into the kernel (listed in `modulesBuiltin`) need nothing.
 */
export function modulesWithDeps(modulesDep: string, wanted: string[], kver = "kernel", modulesBuiltin = ""): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) deps.set(line.slice(0, i), line.slice(i + 1).trim().split(/\s+/).filter(Boolean));
  }
  const out = new Set<string>();
  for (const w of wanted) {
    const re = new RegExp(`/${w.replace(/[-_]/g, "[-_]")}\\.ko(\\.xz|\\.zst|\\.gz)?$`);
    const mod = [...deps.keys()].find((k) => re.test(k));
    if (!mod && modulesBuiltin.split("\n").some((k) => re.test(k))) continue;
    if (!mod) throw new ModuleNotFoundError(w, kver);
    for (const m of [...deps.get(mod)!, mod]) out.add(m);
  }
  return [...out];
}

/** Writes the busybox userland, the modules and the files into `dir` (which must be empty or absent). */
export async function populateRoot(dir: string, spec: RootSpec, runner: Runner = localRunner): Promise<void> {
  for (const d of [...BASE_DIRS, ...(spec.dirs ?? [])]) await mkdir(join(dir, d), { recursive: true });
  await copyFile(BUSYBOX, join(dir, "bin/busybox"));
  const { stdout } = await runner.run(BUSYBOX, ["--list"]);
  for (const applet of stdout.split("\n").filter((a) => a && a !== "busybox")) await symlink("busybox", join(dir, "bin", applet));
  for (const s of ["modprobe", "init"]) await symlink("../bin/busybox", join(dir, "sbin", s));
  const { kver, modulesDir } = spec.kernel;
  const src = join(modulesDir, kver);
  const dst = join(dir, "lib/modules", kver);
  await mkdir(dst, { recursive: true });
  for (const m of modulesWithDeps(await readFile(join(src, "modules.dep"), "utf8"), spec.modules, kver, await readFile(join(src, "modules.builtin"), "utf8"))) {
    await mkdir(dirname(join(dst, m)), { recursive: true });
    await copyFile(join(src, m), join(dst, m));
  }
  for (const f of ["modules.order", "modules.builtin", "modules.builtin.modinfo"]) await copyFile(join(src, f), join(dst, f));
  await runner.run("depmod", ["-b", dir, kver]);
  for (const [path, file] of Object.entries(spec.files)) {
    const p = join(dir, path);
    await mkdir(dirname(p), { recursive: true });
    await rm(p, { force: true });
    await writeFile(p, file.content);
    await chmod(p, file.mode ?? 0o644);
  }
}

/** A key over every input of populateRoot (kernel, modules, files, the busybox binary). */
export async function rootSpecKey(spec: RootSpec, extra: string[] = []): Promise<string> {
  const h = createHash("sha256");
  const bb = await stat(BUSYBOX);
  h.update(["root-v2", spec.kernel.kver, spec.kernel.modulesDir, spec.modules.join(","), (spec.dirs ?? []).join(","), `${bb.size}:${bb.mtimeMs}`, ...extra].join("\0"));
  for (const [path, f] of Object.entries(spec.files).sort(([a], [b]) => a.localeCompare(b))) {
    h.update(`\0${path}\0${f.mode ?? 0o644}\0`);
    h.update(f.content);
  }
  return h.digest("hex").slice(0, 16);
}

export interface InitramfsOptions {
  /** Default .peerstack/cache/initramfs */
  cacheDir?: string;
  /** File name prefix, e.g. "test-image" → test-image-<key>.cpio.gz */
  name?: string;
  runner?: Runner;
  log?: (msg: string) => void;
}

/** Builds (or reuses) the initramfs for `spec`; returns the path of the .cpio.gz. */
export async function buildInitramfs(spec: RootSpec, opts: InitramfsOptions = {}): Promise<string> {
  const runner = opts.runner ?? localRunner;
  const dir = opts.cacheDir ?? cacheDir("initramfs");
  const out = join(dir, `${opts.name ?? "initramfs"}-${await rootSpecKey(spec)}.cpio.gz`);
  if (await stat(out).then((s) => s.size > 0, () => false)) return out;
  opts.log?.(`initramfs: building ${out}`);
  await mkdir(dir, { recursive: true });
  const stage = `${out}.stage-${process.pid}`;
  await rm(stage, { recursive: true, force: true });
  try {
    await populateRoot(stage, spec, runner);
    await packCpio(stage, `${out}.partial-${process.pid}`, runner);
    await rename(`${out}.partial-${process.pid}`, out);
  } finally {
    await rm(stage, { recursive: true, force: true });
    await rm(`${out}.partial-${process.pid}`, { force: true });
  }
  return out;
}

/** Packs a directory as a gzip'd newc cpio archive (what the kernel unpacks as initramfs). */
export async function packCpio(dir: string, out: string, runner: Runner = localRunner): Promise<void> {
  await runner.run("sh", ["-c", 'cd "$1" && find . -print0 | cpio --null -o -H newc --quiet --owner=0:0 | gzip -1 > "$2"', "sh", dir, out], { timeoutMs: 300_000 });
}
