import { describe, it, expect } from "vitest";
import { fwCfgEntries, instancePaths, qemuArgs } from "./qemu-args.ts";
import type { ServerSpec } from "./interface.ts";

const spec: ServerSpec = {
  id: "srv-1",
  memoryMb: 256,
  disks: [{ path: "/var/lib/a,b.qcow2" }, { path: "/dev/vg/lv", readOnly: true }],
  nics: [{ tap: "psvmtap0", mac: "52:54:00:12:34:56", mtu: 1450 }],
  metadata: { hostname: "web1", ip: "10.0.0.5/24", gateway: "10.0.0.1", mtu: 1450, sshKeys: ["ssh-ed25519 AAAA a", "ssh-rsa BBBB b"] },
  kernel: { path: "/k/vmlinux", initrd: "/k/initrd.gz", cmdline: "console=ttyS0 quiet" },
};
const paths = instancePaths("/state", "srv-1");

describe("qemuArgs", () => {
  const args = qemuArgs({ spec, paths, accel: "tcg", diskFormats: ["qcow2", "raw"] });
  const after = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

  it("one vCPU, TCG without -cpu host, no default devices", () => {
    expect(after("-smp")).toEqual(["1"]);
    expect(after("-accel")).toEqual(["tcg"]);
    expect(args).not.toContain("-cpu");
    expect(args).toContain("-nodefaults");
    expect(qemuArgs({ spec, paths, accel: "kvm", diskFormats: ["qcow2", "raw"] })).toContain("host");
  });

  it("disks by path with escaped commas, the first bootable", () => {
    expect(after("-drive")).toEqual([
      "file=/var/lib/a,,b.qcow2,if=none,id=disk0,format=qcow2,cache=writeback,discard=unmap",
      "file=/dev/vg/lv,if=none,id=disk1,format=raw,cache=writeback,discard=unmap,readonly=on",
    ]);
    expect(after("-device")).toContain("virtio-blk-pci,drive=disk0");
    const bios = qemuArgs({ spec: { ...spec, kernel: undefined }, paths, accel: "tcg", diskFormats: ["qcow2", "raw"] });
    expect(bios).toContain("virtio-blk-pci,drive=disk0,bootindex=0");
  });

  it("NICs on the given tap with MAC, empty romfile and host_mtu", () => {
    expect(after("-netdev")).toEqual(["tap,id=net0,ifname=psvmtap0,script=no,downscript=no"]);
    expect(after("-device")).toContain("virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,romfile=,host_mtu=1450");
  });

  it("metadata as fw_cfg files, QMP and console in the instance dir", () => {
    expect(after("-fw_cfg")).toEqual(
      ["instance_id", "hostname", "ip", "gw", "mtu", "ssh_keys"].map((k) => `name=opt/peerstack/${k},file=/state/srv-1/fwcfg/${k}`),
    );
    expect(after("-qmp")).toEqual(["unix:/state/srv-1/qmp.sock,server=on,wait=off"]);
    expect(after("-chardev")).toEqual(["file,id=console,path=/state/srv-1/console.log,append=on"]);
  });

  it("a config drive is a read-only IDE CD-ROM of the instance dir's ISO; none without one", () => {
    expect(after("-drive").filter((d) => d!.includes("configdrive"))).toEqual([]);
    const cd = qemuArgs({ spec: { ...spec, configDrive: { uuid: "u", name: "n", hostname: "h", availabilityZone: "az", projectId: "p", keys: [], links: [], networks: [] } }, paths, accel: "tcg", diskFormats: ["qcow2", "raw"] });
    const drives = cd.flatMap((a, i) => (a === "-drive" ? [cd[i + 1]] : []));
    expect(drives).toContain("file=/state/srv-1/config-drive.iso,if=none,id=configdrive,format=raw,media=cdrom,readonly=on");
    expect(cd).toContain("ide-cd,drive=configdrive,bus=ide.1");
  });

  it("direct kernel boot adds mitigations=off", () => {
    expect(after("-append")).toEqual(["console=ttyS0 quiet mitigations=off"]);
    expect(after("-initrd")).toEqual(["/k/initrd.gz"]);
  });

  it("fw_cfg contents", () => {
    expect(fwCfgEntries(spec)).toEqual({
      instance_id: "srv-1", hostname: "web1", ip: "10.0.0.5/24", gw: "10.0.0.1", mtu: "1450",
      ssh_keys: "ssh-ed25519 AAAA a\nssh-rsa BBBB b\n",
    });
    expect(() => fwCfgEntries({ ...spec, metadata: { extra: { "Bad/Key": "x" } } })).toThrow(/Bad\/Key/);
  });
});
