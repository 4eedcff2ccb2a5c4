// Real VMs across VXLAN: two network namespaces as hosts, QEMU (TCG) started inside them with its NIC
// on the driver's tap. Each guest (Debian kernel + busybox initramfs from the guest kit) takes its
// address and MTU from the host's dnsmasq by DHCP, then pings the targets named on its kernel command
// line and reports on its serial console. VM1 (host 1) reaches VM2 (host 2) on network A; VM3 on
// network B (host 2, same subnet numbers) gets its own lease but reaches neither.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeVxlanDriver } from "../drivers/network/bridge-vxlan.ts";
import type { NetworkDriver } from "../drivers/network/interface.ts";
import { floodLists, remotePorts } from "../drivers/network/l2pop.ts";
import { buildInitramfs } from "../drivers/guest/initramfs.ts";
import { guestKernel, type KernelKit } from "../drivers/guest/kernel.ts";
import { localRunner } from "../drivers/run.ts";
import { qemuDriver } from "../drivers/compute/qemu.ts";
import type { ComputeDriver } from "../drivers/compute/interface.ts";
import { killAllQemu, overlay, testImage, waitConsole as waitServerConsole } from "./helpers/vm.ts";
import { allocateVni } from "../protocol/vni.ts";
import { createLab, type Lab } from "./helpers/netns.ts";

const INIT = String.raw`#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
modprobe virtio_pci; modprobe virtio_net
say() { echo "$*" > /dev/ttyS0; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^ps\.$1=//p"; }
ip link set lo up; ip link set eth0 up
i=0; until udhcpc -i eth0 -n -q -f -t 5 -T 1 -O mtu -s /udhcpc.sh >/dev/null 2>&1; do i=$((i+1)); [ $i -ge 5 ] && break; done
say "PS-NET $(cat /tmp/lease 2>/dev/null) mtu=$(cat /sys/class/net/eth0/mtu)"
for t in $(arg ping | tr , ' '); do
  r=FAIL; i=0
  while [ $i -lt $(arg tries) ]; do if ping -c 1 -W 1 -s $(arg size) $t >/dev/null 2>&1; then r=OK; break; fi; i=$((i+1)); done
  say "PS-PING $t $r"
done
say PS-DONE
while true; do sleep 3600; done
`;

const UDHCPC = String.raw`#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    echo "ip=$ip server=$serverid" > /tmp/lease ;;
esac
exit 0
`;

interface Vm {
  name: string;
  log: string;
  proc: ChildProcess;
}

describe("VMs on two namespace hosts across VXLAN", () => {
  let lab: Lab;
  let dir: string;
  let kernel: KernelKit;
  let initrd: string;
  const drv: NetworkDriver[] = [];
  let compute: ComputeDriver | undefined;
  let computeDir: string | undefined;
  const vms: Vm[] = [];
  const vniA = allocateVni("vm-net-a", []);
  const vniB = allocateVni("vm-net-b", [{ networkId: "vm-net-a", vni: vniA }]);

  function startVm(o: { name: string; ns: string; tap: string; mac: string; ping: string[]; tries: number; size?: number }): Vm {
    const log = join(dir, `${o.name}.console`);
    const cmdline = ["console=ttyS0", "quiet", "loglevel=3", "panic=-1", "mitigations=off", "init_on_alloc=0", `ps.ping=${o.ping.join(",")}`, `ps.tries=${o.tries}`, `ps.size=${o.size ?? 56}`];
    const args = [
      "netns", "exec", o.ns, "qemu-system-x86_64",
      "-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-kernel", kernel.vmlinux, "-initrd", initrd, "-append", cmdline.join(" "),
      "-serial", `file:${log}`,
      "-netdev", `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
      "-device", `virtio-net-pci,netdev=n0,mac=${o.mac},romfile=`,
    ];
    const vm = { name: o.name, log, proc: spawn("ip", args, { stdio: "ignore" }) };
    vms.push(vm);
    return vm;
  }

  async function waitConsole(vm: Vm, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(vm.log, "utf8").catch(() => "");
      const m = text.match(re);
      if (m) return m;
      if (Date.now() > until || vm.proc.exitCode !== null) throw new Error(`${vm.name}: no ${re} on the console within ${timeoutMs} ms:\n${text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "psnet-vms-"));
    kernel = await guestKernel();
    initrd = await buildInitramfs(
      { kernel, modules: ["virtio_pci", "virtio_net"], files: { init: { content: INIT, mode: 0o755 }, "udhcpc.sh": { content: UDHCPC, mode: 0o755 } } },
      { name: "psnet-vm" },
    );
    lab = await createLab("vm");
    for (let i = 0; i < 2; i++) drv.push(bridgeVxlanDriver({ runner: localRunner, netns: lab.hosts[i], stateDir: join(dir, `h${i + 1}`), arpProxy: true }));
    // The replicated state this test stands in for: networks, port bindings, leases.
    const ports = [
      { host: 0, networkId: "vm-net-a", portId: "vm1", mac: "52:54:00:10:00:01", ip: "10.60.0.11" },
      { host: 1, networkId: "vm-net-a", portId: "vm2", mac: "52:54:00:10:00:02", ip: "10.60.0.12" },
      { host: 1, networkId: "vm-net-b", portId: "vm3", mac: "52:54:00:10:00:03", ip: "10.60.0.13" },
      // A server the compute driver boots from the test image (host 1), and VM4 (host 2) that pings it.
      { host: 0, networkId: "vm-net-a", portId: "srv1", mac: "52:54:00:10:00:31", ip: "10.60.0.31" },
      { host: 1, networkId: "vm-net-a", portId: "vm4", mac: "52:54:00:10:00:04", ip: "10.60.0.14" },
      // A fake guest (namespace + veth) on network B on host 1: VM3's positive control.
      { host: 0, networkId: "vm-net-b", portId: "g1b", mac: "52:54:00:10:00:21", ip: "10.60.0.21", existing: "psv-g1b" },
    ];
    await lab.addGuest({ name: "g1b", host: lab.hosts[0], hostIf: "psv-g1b", mac: "52:54:00:10:00:21", cidr: "10.60.0.21/24", mtu: 1450 });
    const vni: Record<string, number> = { "vm-net-a": vniA, "vm-net-b": vniB };
    for (let h = 0; h < 2; h++) {
      // Full l2population, as production runs it: flood lists, unicast FDB and ARP-proxy entries.
      const bindings = ports.map((p) => ({ networkId: p.networkId, host: `h${p.host}`, mac: p.mac, ip: p.ip }));
      const vtepOf = (x: string) => lab.vteps[Number(x.slice(1))];
      const flood = floodLists(bindings, `h${h}`, vtepOf);
      const remote = remotePorts(bindings, `h${h}`, vtepOf);
      for (const [networkId, vteps] of flood) {
        await drv[h].ensureNetwork({ networkId, vni: vni[networkId], underlayDev: lab.underlay[h], localIp: lab.vteps[h] });
        await drv[h].syncFdb(networkId, vteps);
        await drv[h].syncRemotePorts(networkId, remote.get(networkId) ?? []);
        const local = ports.filter((p) => p.host === h && p.networkId === networkId);
        for (const p of local) {
          await drv[h].ensurePort({ portId: p.portId, networkId, mac: p.mac, ...(p.existing ? { tapName: p.existing, kind: "existing" } : { tapName: `pstap-${p.portId}` }) });
        }
        const serverIp = `10.60.0.${2 + h + (networkId === "vm-net-b" ? 2 : 0)}`;
        await drv[h].ensureDhcp({ networkId, cidr: "10.60.0.0/24", serverIp, leases: local.map((p) => ({ mac: p.mac, ip: p.ip, hostname: p.portId })) });
      }
    }
  }, 600_000);

  afterAll(async () => {
    for (const vm of vms) vm.proc.kill("SIGKILL");
    if (computeDir) {
      await compute?.delete("srv1").catch(() => {});
      await killAllQemu(computeDir);
      await rm(computeDir, { recursive: true, force: true });
    }
    for (const d of drv) await d.teardown().catch(() => {});
    await lab?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("VM1 on host 1 gets its lease and MTU by DHCP and pings VM2 on host 2 over VXLAN (1450-byte packets)", async () => {
    const vm2 = startVm({ name: "vm2", ns: lab.hosts[1], tap: "pstap-vm2", mac: "52:54:00:10:00:02", ping: [], tries: 0 });
    const vm1 = startVm({ name: "vm1", ns: lab.hosts[0], tap: "pstap-vm1", mac: "52:54:00:10:00:01", ping: ["10.60.0.12"], tries: 90, size: 1422 });
    expect((await waitConsole(vm2, /PS-NET [^\r\n]*mtu=\d+\r?\n/, 90_000))[0]).toContain("ip=10.60.0.12 server=10.60.0.3 mtu=1450");
    expect((await waitConsole(vm1, /PS-NET [^\r\n]*mtu=\d+\r?\n/, 90_000))[0]).toContain("ip=10.60.0.11 server=10.60.0.2 mtu=1450");
    expect((await waitConsole(vm1, /PS-PING 10\.60\.0\.12 \w+\r?\n/, 120_000))[0].trim()).toBe("PS-PING 10.60.0.12 OK");
  }, 240_000);

  it("VM3 on network B (same subnet numbers, host 2) reaches network B across VXLAN but neither VM of network A", async () => {
    const vm3 = startVm({ name: "vm3", ns: lab.hosts[1], tap: "pstap-vm3", mac: "52:54:00:10:00:03", ping: ["10.60.0.21", "10.60.0.11", "10.60.0.12"], tries: 4 });
    expect((await waitConsole(vm3, /PS-NET [^\r\n]*mtu=\d+\r?\n/, 90_000))[0]).toContain("ip=10.60.0.13 server=10.60.0.5 mtu=1450");
    const done = await waitConsole(vm3, /PS-PING 10\.60\.0\.21 \w+[\s\S]*PS-PING 10\.60\.0\.11 \w+[\s\S]*PS-PING 10\.60\.0\.12 \w+\r?\n/, 90_000);
    expect(done[0]).toMatch(/PS-PING 10\.60\.0\.21 OK[\s\S]*PS-PING 10\.60\.0\.11 FAIL[\s\S]*PS-PING 10\.60\.0\.12 FAIL/);
  }, 240_000);

  it("a server the QEMU compute driver boots (test image, NIC on the driver's tap, in host 1's namespace) gets its DHCP lease and is pinged by VM4 on host 2", async () => {
    const img = await testImage();
    computeDir = await mkdtemp(join(tmpdir(), "psnet-qc-"));
    compute = qemuDriver({ stateDir: computeDir });
    const disk = await overlay(img.qcow2, join(computeDir, "srv1.qcow2"));
    await compute.create({
      id: "srv1", memoryMb: 192, disks: [{ path: disk }], nics: [{ tap: "pstap-srv1", mac: "52:54:00:10:00:31", mtu: 1450 }],
      metadata: { hostname: "srv1" }, // no IP: the guest asks DHCP
      kernel: { path: img.vmlinux, initrd: img.initrd, cmdline: img.cmdline }, netns: lab.hosts[0],
    });
    const { text } = await waitServerConsole(compute, "srv1", /PEERSTACK-READY [^\n]*\n/, { timeoutMs: 120_000 });
    expect(text).toMatch(/PEERSTACK-READY hostname=srv1 id=srv1 ip=10\.60\.0\.31\/24 mtu=1450/);
    const vm4 = startVm({ name: "vm4", ns: lab.hosts[1], tap: "pstap-vm4", mac: "52:54:00:10:00:04", ping: ["10.60.0.31"], tries: 60, size: 1422 });
    expect((await waitConsole(vm4, /PS-NET [^\r\n]*mtu=\d+\r?\n/, 90_000))[0]).toContain("ip=10.60.0.14 server=10.60.0.3 mtu=1450");
    expect((await waitConsole(vm4, /PS-PING 10\.60\.0\.31 \w+\r?\n/, 120_000))[0].trim()).toBe("PS-PING 10.60.0.31 OK");
  }, 300_000);
});
