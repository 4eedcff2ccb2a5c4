// The `peerstack` command: one entry point, one small module per subcommand under bin/commands/.
import { argv, exit, stderr } from "node:process";

interface Command {
  summary: string;
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

const commands: Record<string, Command> = {
  test: { summary: "run the whole suite: typecheck, lint, tests", load: () => import("./commands/test.ts") },
  image: { summary: "image build-test: build the bootable test image (.peerstack/images)", load: () => import("./commands/image.ts") },
  bench: { summary: "run a benchmark: bench <name> (see bench/)", load: () => import("./commands/bench.ts") },
  node: { summary: "run one agent (node --help); node remove <id> forgets a dead node", load: () => import("./commands/node.ts") },
  cluster: { summary: "cluster init: create a cluster key and a first node config", load: () => import("./commands/cluster.ts") },
  sim: { summary: "simulator: sim run <scenario> --out DIR | sim swarm <scenario> --seeds N | sim probe", load: () => import("./commands/sim.ts") },
  conformance: { summary: "Tempest against a lab: conformance [--area A] [--regex R] (.peerstack/conformance)", load: () => import("./commands/conformance.ts") },
  lab: { summary: "lab up|status|down: a whole cluster on this machine, one node per network namespace", load: () => import("./commands/lab.ts") },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: peerstack <command> [args]\n\ncommands:\n${lines.join("\n")}\n`;
}

const [name, ...rest] = argv.slice(2);
if (!name || name === "help" || name === "--help" || name === "-h") {
  stderr.write(usage());
  exit(name ? 0 : 2);
}
const command = commands[name];
if (!command) {
  stderr.write(`peerstack: unknown command "${name}"\n\n${usage()}`);
  exit(2);
}
exit(await (await command.load()).run(rest));
