// The LVM test guest's initramfs: busybox, the few kernel modules the guest needs (virtio, 9p,
// overlay, device-mapper with snapshot and thin pool), an /init that builds a virtme-style root
// (the host's / read-only over 9p with a tmpfs overlay) and then hands PID 1 to the agent.
// Built (and cached) by the shared initramfs builder in initramfs.ts.
import type { Runner } from "../run.ts";
import type { KernelKit } from "./kernel.ts";
import { buildInitramfs } from "./initramfs.ts";
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

/** What the guest needs of the kernel kit. */
export type GuestKernel = Pick<KernelKit, "vmlinux" | "modulesDir" | "kver">;

/** Builds (or reuses from the cache) the LVM guest's initramfs for `kernel`; returns its path. */
export function lvmGuestInitramfs(kernel: GuestKernel, opts: { cacheDir?: string; runner?: Runner } = {}): Promise<string> {
  return buildInitramfs(
    {
      kernel,
      modules: GUEST_MODULES,
      files: { init: { content: INIT_SCRIPT, mode: 0o755 }, "agent.sh": { content: AGENT_SCRIPT, mode: 0o755 } },
      dirs: ["lower", "upper", "newroot"],
    },
    { name: "lvm-guest", cacheDir: opts.cacheDir, runner: opts.runner },
  );
}
