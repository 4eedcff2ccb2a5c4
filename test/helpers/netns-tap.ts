// A userspace "NIC" on a real tap, for tests without a VM: a tiny Python process opens the tap the way
// QEMU does (TUNSETIFF on /dev/net/tun, IFF_TAP|IFF_NO_PI) inside a host namespace, and answers ARP
// and ICMP echo for one MAC/IP. The tap gets carrier exactly as with a guest.

import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";

const RESPONDER = String.raw`
import fcntl, os, struct, sys
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454ca, 0x0002, 0x1000
name, mac, ip = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), bytes(int(x) for x in sys.argv[3].split('.'))
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
def csum(b):
    if len(b) % 2: b = b + b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
print('ready', flush=True)
while True:
    f = os.read(fd, 65536)
    src, et = f[6:12], f[12:14]
    if et == b'\x08\x06' and f[20:22] == b'\x00\x01' and f[38:42] == ip:
        os.write(fd, src + mac + b'\x08\x06' + f[14:20] + b'\x00\x02' + mac + ip + f[22:28] + f[28:32])
    elif et == b'\x08\x00':
        ihl, total = (f[14] & 15) * 4, struct.unpack('!H', f[16:18])[0]
        p = f[14:14 + total]
        if p[9] == 1 and p[16:20] == ip and p[ihl] == 8:
            icmp = bytearray(p[ihl:]); icmp[0] = 0; icmp[2:4] = b'\0\0'; icmp[2:4] = struct.pack('!H', csum(bytes(icmp)))
            h = bytearray(p[:ihl]); h[12:16], h[16:20] = p[16:20], p[12:16]; h[8] = 64; h[10:12] = b'\0\0'
            h[10:12] = struct.pack('!H', csum(bytes(h)))
            os.write(fd, src + mac + b'\x08\x00' + bytes(h) + bytes(icmp))
`;

export interface TapResponder {
  stop(): Promise<void>;
}

/** Starts the responder on `tap` in namespace `ns`; resolves once the tap is opened. */
export async function startTapResponder(o: { ns: string; tap: string; mac: string; ip: string; dir: string }): Promise<TapResponder> {
  const script = join(o.dir, "tap-responder.py");
  await writeFile(script, RESPONDER);
  const child: ChildProcess = spawn("ip", ["netns", "exec", o.ns, "python3", script, o.tap, o.mac, o.ip], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (l) => l === "ready" && resolve());
    child.on("exit", (code) => reject(new Error(`tap responder on ${o.tap} exited (${code}): ${stderr}`)));
  });
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}
