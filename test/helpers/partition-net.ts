// A 2-sided test network for partitions: N namespaces `<prefix>-nK`, each with a p2p link (d0) on the
// bridge of its side (A or B; the two bridges joined by one veth pair that cut()/heal() take down and
// up) and a management link (m0) on a third bridge the host can reach, so the test talks to every node
// over HTTP while the two sides cannot reach each other.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  try {
    await execFileP("ip", args, { timeout: 10_000 });
  } catch (err) {
    throw new Error(`ip ${args.join(" ")}: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
}
const ipQuiet = (...args: string[]) => execFileP("ip", args, { timeout: 10_000 }).catch(() => {});

export interface PartitionNetOptions {
  /** Name prefix of namespaces and links (at most 7 characters: link names are capped at 15). */
  prefix: string;
  nodes: number;
  /** Node numbers (1-based) on side A; the rest are on side B. */
  sideA: ReadonlySet<number>;
  /** First three octets of the p2p and the management /24 (e.g. "10.77.0"). */
  p2pNet: string;
  mgmtNet: string;
}

export interface PartitionNet {
  ns(i: number): string;
  p2pIp(i: number): string;
  httpIp(i: number): string;
  setup(): Promise<void>;
  /** Takes the link between the two sides down (the partition), or up again. */
  cut(): Promise<void>;
  heal(): Promise<void>;
  teardown(): Promise<void>;
}

export function partitionNet(o: PartitionNetOptions): PartitionNet {
  const p = o.prefix;
  const bridges = [`${p}-bra`, `${p}-brb`, `${p}-mg`];
  const net: PartitionNet = {
    ns: (i) => `${p}-n${i}`,
    p2pIp: (i) => `${o.p2pNet}.${10 + i}`,
    httpIp: (i) => `${o.mgmtNet}.${10 + i}`,
    async setup() {
      await net.teardown(); // leftovers of a crashed run
      for (const br of bridges) {
        await ip("link", "add", br, "type", "bridge");
        await ip("link", "set", br, "up");
      }
      await ip("addr", "add", `${o.mgmtNet}.1/24`, "dev", `${p}-mg`);
      await ip("link", "add", `${p}-ab`, "type", "veth", "peer", "name", `${p}-ba`);
      await ip("link", "set", `${p}-ab`, "master", `${p}-bra`, "up");
      await ip("link", "set", `${p}-ba`, "master", `${p}-brb`, "up");
      for (let i = 1; i <= o.nodes; i++) {
        const ns = net.ns(i);
        await ip("netns", "add", ns);
        await ip("-n", ns, "link", "set", "lo", "up");
        await ip("link", "add", `${p}-d${i}`, "type", "veth", "peer", "name", "d0", "netns", ns);
        await ip("link", "set", `${p}-d${i}`, "master", o.sideA.has(i) ? `${p}-bra` : `${p}-brb`, "up");
        await ip("-n", ns, "addr", "add", `${net.p2pIp(i)}/24`, "dev", "d0");
        await ip("-n", ns, "link", "set", "d0", "up");
        await ip("link", "add", `${p}-m${i}`, "type", "veth", "peer", "name", "m0", "netns", ns);
        await ip("link", "set", `${p}-m${i}`, "master", `${p}-mg`, "up");
        await ip("-n", ns, "addr", "add", `${net.httpIp(i)}/24`, "dev", "m0");
        await ip("-n", ns, "link", "set", "m0", "up");
      }
    },
    cut: () => ip("link", "set", `${p}-ab`, "down"),
    heal: () => ip("link", "set", `${p}-ab`, "up"),
    async teardown() {
      for (let i = 1; i <= o.nodes; i++) {
        await ipQuiet("netns", "del", net.ns(i));
        await ipQuiet("link", "del", `${p}-d${i}`);
        await ipQuiet("link", "del", `${p}-m${i}`);
      }
      for (const l of [`${p}-ab`, ...bridges]) await ipQuiet("link", "del", l);
    },
  };
  return net;
}
