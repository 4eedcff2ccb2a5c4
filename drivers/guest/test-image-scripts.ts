// The test image's scripts. Stage 1 (initramfs /init): load modules, switch to the disk root
// (ps.root= on the kernel command line). Stage 2 (busybox init on the disk root): metadata from
// fw_cfg (opt/peerstack/<key>, written by the QEMU driver) or the kernel command line
// (ps.<key>=), network, the ready marker on the serial console, a user_data script (cloud-init's
// "#!" case), ACPI power button → poweroff, ctrl-alt-del → reboot.

/** Printed on the serial console when the guest is up: `PEERSTACK-READY hostname=… ip=… mtu=… root=… uptime=…`. */
export const READY_MARKER = "PEERSTACK-READY";
/** Printed when the guest starts its user_data script (Nova user_data starting with "#!"). */
export const USERDATA_MARKER = "PEERSTACK-USERDATA";
export const POWERDOWN_MARKER = "PEERSTACK-POWERDOWN";
export const REBOOT_MARKER = "PEERSTACK-REBOOT";
export const ROOT_FAILED_MARKER = "PEERSTACK-ROOT-FAILED";
/** The fw_cfg directory the guest reads its metadata from. */
export const FW_CFG_PREFIX = "opt/peerstack";

export const TEST_IMAGE_MODULES = [
  "virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "virtio_console", "crc32c_generic", "ext4",
  "button", "evdev", "qemu_fw_cfg", "af_packet",
];

export const STAGE1_INIT = String.raw`#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in MODULES; do modprobe $m 2>/dev/null; done
ROOT=
for x in $(cat /proc/cmdline); do case $x in ps.root=*) ROOT=@{x#ps.root=};; esac; done
if [ -n "$ROOT" ]; then
  i=0
  while [ $i -lt 100 ]; do
    case $ROOT in LABEL=*|UUID=*) DEV=$(findfs "$ROOT" 2>/dev/null);; *) DEV=$ROOT;; esac
    [ -n "$DEV" ] && [ -b "$DEV" ] && break
    sleep 0.05; i=$((i+1))
  done
  if [ -n "$DEV" ] && mount -t ext4 "$DEV" /newroot; then
    mount --move /proc /newroot/proc; mount --move /sys /newroot/sys; mount --move /dev /newroot/dev
    exec switch_root /newroot /sbin/init
  fi
  echo "PEERSTACK-ROOT-FAILED $ROOT" > /dev/console
fi
exec /sbin/init
`.replaceAll("@{", "${").replace("MODULES", TEST_IMAGE_MODULES.join(" "));

export const INITTAB = `::sysinit:/etc/rc.boot
::ctrlaltdel:/etc/rc.reboot
::shutdown:/etc/rc.shutdown
`;

export const RC_BOOT = String.raw`#!/bin/sh
export PATH=/bin:/sbin
[ -e /proc/mounts ] || mount -t proc proc /proc
[ -d /sys/kernel ] || mount -t sysfs sys /sys
[ -e /dev/null ] || mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run; mkdir -p /var/run /var/log
for m in MODULES; do modprobe $m 2>/dev/null; done
ip link set lo up
fw() { f=/sys/firmware/qemu_fw_cfg/by_name/PREFIX/$1/raw; [ -r $f ] && cat $f; }
i=0; while [ ! -d /sys/firmware/qemu_fw_cfg/by_name ] && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done
IP=$(fw ip); GW=$(fw gw); MTU=$(fw mtu); HN=$(fw hostname); KEYS=$(fw ssh_keys); ID=$(fw instance_id)
for x in $(cat /proc/cmdline); do case $x in
  ps.ip=*) IP=@{x#ps.ip=};; ps.gw=*) GW=@{x#ps.gw=};; ps.mtu=*) MTU=@{x#ps.mtu=};; ps.hostname=*) HN=@{x#ps.hostname=};;
esac; done
[ -n "$HN" ] && { hostname "$HN"; echo "$HN" > /etc/hostname; }
if [ -n "$KEYS" ]; then mkdir -p /root/.ssh; echo "$KEYS" > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys; fi
if ip link show eth0 >/dev/null 2>&1; then
  ip link set eth0 up
  [ -n "$MTU" ] && ip link set eth0 mtu "$MTU"
  if [ -n "$IP" ]; then
    ip addr add "$IP" dev eth0; [ -n "$GW" ] && ip route add default via "$GW"
  else
    udhcpc -i eth0 -n -q -t 3 -T 1 -O mtu -s /etc/udhcpc.script >/dev/null 2>&1
    IP=$(ip -o -4 addr show dev eth0 | awk '{print $4}' | head -1)
  fi
fi
[ "$(hostname)" = "(none)" ] && hostname "$(cat /etc/hostname)"
acpid -c /etc/acpi -l /dev/null -p /var/run/acpid.pid
echo "PEERSTACK-READY hostname=$(hostname) id=@{ID:-none} ip=@{IP:-none} mtu=$(cat /sys/class/net/eth0/mtu 2>/dev/null || echo none) root=$(awk '$2=="/"{print $1}' /proc/mounts | tail -1) uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/console
# Nova user_data (base64 in fw_cfg): a script ("#!" first) runs once in the background, output on the console.
UD=$(fw user_data)
if [ -n "$UD" ] && echo "$UD" | base64 -d > /run/user-data 2>/dev/null && [ "$(head -c 2 /run/user-data)" = "#!" ]; then
  chmod 755 /run/user-data
  echo "USERDATA_MARKER" > /dev/console
  setsid /run/user-data < /dev/null > /dev/console 2>&1 &
fi
`.replaceAll("@{", "${").replace("MODULES", TEST_IMAGE_MODULES.join(" ")).replace("PREFIX", FW_CFG_PREFIX).replace("USERDATA_MARKER", USERDATA_MARKER);

export const RC_SHUTDOWN = `#!/bin/sh
echo "PEERSTACK-SHUTDOWN" > /dev/console
sync; mount -o remount,ro / 2>/dev/null; true
`;

export const RC_REBOOT = `#!/bin/sh
echo "PEERSTACK-REBOOT" > /dev/console
exec /bin/reboot
`;

export const ACPI_POWER = `#!/bin/sh
echo "PEERSTACK-POWERDOWN" > /dev/console
exec /bin/poweroff
`;

export const UDHCPC_SCRIPT = String.raw`#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/@{mask:-24}" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    [ -n "$hostname" ] && [ "$(hostname)" = "(none)" ] && hostname "$hostname"
    : > /etc/resolv.conf; for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
exit 0
`.replaceAll("@{", "${");
