// The qemu-system-x86_64 command line for a ServerSpec, and where an instance keeps its files.
// Pure: everything it needs (paths, accel, disk formats) is passed in.
import { join } from "node:path";
import type { ServerSpec } from "./interface.ts";

export interface InstancePaths {
  dir: string;
  spec: string;
  qmp: string;
  console: string;
  pidfile: string;
  /** Per-start facts (accel, start time) written by the driver. */
  runtime: string;
  fwcfgDir: string;
  /** The config drive ISO (rebuilt at each start when the spec asks for one). */
  configDrive: string;
}

export function instancePaths(stateDir: string, id: string): InstancePaths {
  const dir = join(stateDir, id);
  return {
    dir,
    spec: join(dir, "spec.json"),
    qmp: join(dir, "qmp.sock"),
    console: join(dir, "console.log"),
    pidfile: join(dir, "qemu.pid"),
    runtime: join(dir, "runtime.json"),
    fwcfgDir: join(dir, "fwcfg"),
    configDrive: join(dir, "config-drive.iso"),
  };
}

/** fw_cfg entries are opt/peerstack/<key>; the test image's /etc/rc.boot reads them. */
export const FW_CFG_PREFIX = "opt/peerstack";

/** The metadata files (key → content) the guest will see under opt/peerstack/. */
export function fwCfgEntries(spec: ServerSpec): Record<string, string> {
  const m = spec.metadata ?? {};
  const out: Record<string, string> = { instance_id: spec.id };
  if (m.hostname) out.hostname = m.hostname;
  if (m.ip) out.ip = m.ip;
  if (m.gateway) out.gw = m.gateway;
  if (m.mtu) out.mtu = String(m.mtu);
  if (m.sshKeys?.length) out.ssh_keys = m.sshKeys.join("\n") + "\n";
  for (const [k, v] of Object.entries(m.extra ?? {})) {
    if (!/^[a-z0-9_]{1,40}$/.test(k)) throw new Error(`metadata key "${k}" is not [a-z0-9_]{1,40}`);
    out[k] = v;
  }
  return out;
}

/** QEMU option values use "," as separator; a literal comma is written twice. */
const esc = (v: string) => v.replaceAll(",", ",,");

export interface QemuArgsInput {
  spec: ServerSpec;
  paths: InstancePaths;
  accel: "kvm" | "tcg";
  /** One per spec.disks entry. */
  diskFormats: Array<"qcow2" | "raw">;
}

export function qemuArgs({ spec, paths, accel, diskFormats }: QemuArgsInput): string[] {
  const a: string[] = [
    "-name", `guest=${esc(spec.id)}`,
    "-machine", "pc",
    "-accel", accel,
    ...(accel === "kvm" ? ["-cpu", "host"] : []),
    "-m", String(spec.memoryMb),
    "-smp", String(spec.vcpus ?? 1),
    "-nodefaults", "-no-user-config", "-display", "none",
    "-rtc", "base=utc",
    "-qmp", `unix:${esc(paths.qmp)},server=on,wait=off`,
    "-chardev", `file,id=console,path=${esc(paths.console)},append=on`,
    "-serial", "chardev:console",
    "-pidfile", paths.pidfile,
  ];
  spec.disks.forEach((d, i) => {
    const ro = d.readOnly ? ",readonly=on" : "";
    a.push("-drive", `file=${esc(d.path)},if=none,id=disk${i},format=${diskFormats[i]},cache=writeback,discard=unmap${ro}`);
    // With -kernel, QEMU's linuxboot option ROM takes boot index 0.
    a.push("-device", `virtio-blk-pci,drive=disk${i}${i === 0 && !spec.kernel ? ",bootindex=0" : ""}`);
  });
  spec.nics.forEach((n, i) => {
    a.push("-netdev", `tap,id=net${i},ifname=${esc(n.tap)},script=no,downscript=no`);
    a.push("-device", `virtio-net-pci,netdev=net${i},mac=${n.mac},romfile=${n.mtu ? `,host_mtu=${n.mtu}` : ""}`);
  });
  if (spec.configDrive) {
    // A read-only CD-ROM on the IDE bus (Nova's default): it takes no virtio disk name, so volumes stay vdb, vdc …
    a.push("-drive", `file=${esc(paths.configDrive)},if=none,id=configdrive,format=raw,media=cdrom,readonly=on`);
    a.push("-device", "ide-cd,drive=configdrive,bus=ide.1");
  }
  for (const key of Object.keys(fwCfgEntries(spec))) {
    a.push("-fw_cfg", `name=${FW_CFG_PREFIX}/${key},file=${esc(join(paths.fwcfgDir, key))}`);
  }
  if (spec.kernel) {
    a.push("-kernel", spec.kernel.path);
    if (spec.kernel.initrd) a.push("-initrd", spec.kernel.initrd);
    const cmdline = spec.kernel.cmdline ?? "console=ttyS0";
    a.push("-append", /\bmitigations=/.test(cmdline) ? cmdline : `${cmdline} mitigations=off`);
  }
  return a;
}
