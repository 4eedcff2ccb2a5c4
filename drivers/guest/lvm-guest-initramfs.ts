// The LVM test guest's initramfs: busybox, the few kernel modules the guest needs (virtio, 9p,
// overlay, device-mapper with snapshot and thin pool), an /init that builds a virtme-style root
// (the host's / read-only over 9p with a tmpfs overlay) and then hands PID 1 to the agent.
import { copyFile, mkdir, readFile, rm, symlink, writeFile, chmod, stat, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import type { CommandRunner } from "../storage/interface.ts";
import { AGENT_SCRIPT } from "./guest-runner-agent.ts";

/** Loaded by /init, in this order; their dependencies come from modules.dep. */
export const GUEST_MODULES = [
  "virtio_pci", "virtio_blk", "virtio_console", "9pnet_virtio", "9p", "overlay",
  "crc32c_generic", "dm_mod", "dm_snapshot", "dm_thin_pool",
];

/** The virtio-serial port the agent listens on. */
export const AGENT_PORT_NAME = "ps.agent";
export const READY_MARKER = "PS-GUEST-READY";
export const FAIL_MARKER = "PS-GUEST-FAIL";

export const INIT_SCRIPT = String.raw`#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
fail() { echo "PS-GUEST-FAIL: $*"; poweroff -f; }
for m in MODULES; do modprobe $m || fail "modprobe $m"; done
O=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $O,ro,cache=loose hostroot /lower || fail "9p host root"
mount -t tmpfs -o size=50% upper /upper; mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot || fail overlay
R=/newroot
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs shm $R/dev/shm
mount -t tmpfs run $R/run; mkdir -p $R/run/lock $R/lib/modules
MD=; SH=
for x in $(cat /proc/cmdline); do case $x in ps.moddir=*) MD=@{x#ps.moddir=};; ps.share=*) SH="$SH @{x#ps.share=}";; esac; done
[ -n "$MD" ] && [ -d "$R$MD" ] && mount --bind "$R$MD" $R/lib/modules
for s in $SH; do mkdir -p "$R@{s#*:}"; mount -t 9p -o $O "@{s%%:*}" "$R@{s#*:}" || fail "share $s"; done
port=; i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
  for p in /sys/class/virtio-ports/*; do [ "$(cat $p/name 2>/dev/null)" = PORTNAME ] && port=/dev/@{p##*/}; done
  [ -n "$port" ] || { sleep 0.05; i=$((i+1)); }
done
[ -n "$port" ] || fail "no virtio port PORTNAME"
cp /agent.sh $R/run/ps-agent.sh
echo "PS-GUEST-READY uptime=$(cut -d' ' -f1 /proc/uptime)"
exec chroot $R /bin/bash /run/ps-agent.sh $port
`.replaceAll("@{", "${").replace("MODULES", GUEST_MODULES.join(" ")).replaceAll("PORTNAME", AGENT_PORT_NAME);

export interface GuestKernel {
  /** Uncompressed PVH-bootable vmlinux. */
  vmlinux: string;
  /** The directory holding `<kver>/` with modules.dep (bound at /lib/modules in the guest). */
  modulesDir: string;
  kver: string;
}

/** Module paths (relative to the kver dir) for `wanted` and their dependencies, from modules.dep. */
export function modulesWithDeps(modulesDep: string, wanted: string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split("\n")) {
    const [mod, rest] = line.split(":");
    if (mod && rest !== undefined) deps.set(mod, rest.trim().split(/\s+/).filter(Boolean));
  }
  const out = new Set<string>();
  for (const w of wanted) {
    const re = new RegExp(`/${w.replace(/[-_]/g, "[-_]")}\\.ko(\\.xz|\\.zst)?$`);
    const mod = [...deps.keys()].find((k) => re.test(k));
    if (!mod) throw new Error(`kernel module "${w}" not in modules.dep`);
    for (const m of [...deps.get(mod)!, mod]) out.add(m);
  }
  return [...out];
}

/**
 * Builds (or reuses from `cacheDir`) the initramfs for `kernel`; returns its path. The cache key
 * covers the kernel, the module list and both scripts, so editing /init or the agent rebuilds it.
 */
export async function lvmGuestInitramfs(kernel: GuestKernel, cacheDir: string, host: CommandRunner): Promise<string> {
  const key = createHash("sha256").update([kernel.kver, kernel.modulesDir, GUEST_MODULES.join(","), INIT_SCRIPT, AGENT_SCRIPT].join("\0")).digest("hex").slice(0, 16);
  const out = join(cacheDir, `lvm-guest-${key}.cpio.gz`);
  if (await stat(out).then((s) => s.size > 0, () => false)) return out;
  await mkdir(cacheDir, { recursive: true });
  const stage = `${out}.stage`;
  await rm(stage, { recursive: true, force: true });
  try {
    for (const d of ["bin", "sbin", "dev", "proc", "sys", "tmp", "lower", "upper", "newroot"]) await mkdir(join(stage, d), { recursive: true });
    await copyFile("/bin/busybox", join(stage, "bin/busybox"));
    const { stdout } = await host.run("/bin/busybox", ["--list"]);
    for (const applet of stdout.split("\n").filter((a) => a && a !== "busybox")) await symlink("busybox", join(stage, "bin", applet));
    await symlink("../bin/busybox", join(stage, "sbin/modprobe"));
    const src = join(kernel.modulesDir, kernel.kver);
    const dst = join(stage, "lib/modules", kernel.kver);
    for (const m of modulesWithDeps(await readFile(join(src, "modules.dep"), "utf8"), GUEST_MODULES)) {
      await mkdir(dirname(join(dst, m)), { recursive: true });
      await copyFile(join(src, m), join(dst, m));
    }
    for (const f of ["modules.order", "modules.builtin", "modules.builtin.modinfo"]) await copyFile(join(src, f), join(dst, f));
    await host.run("depmod", ["-b", stage, kernel.kver]);
    await writeFile(join(stage, "init"), INIT_SCRIPT);
    await chmod(join(stage, "init"), 0o755);
    await writeFile(join(stage, "agent.sh"), AGENT_SCRIPT);
    await host.run("sh", ["-c", 'cd "$1" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 > "$2"', "sh", stage, `${out}.partial`]);
    await rename(`${out}.partial`, out);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return out;
}
