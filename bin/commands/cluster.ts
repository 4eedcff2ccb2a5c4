// `peerstack cluster init [--dir DIR] [--listen MULTIADDR] [--http HOST:PORT]`: a new cluster key and a
// first node config next to it (DIR/cluster.key, DIR/node.json; DIR defaults to .peerstack).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { stderr } from "node:process";
import { defaultConfig } from "../../node/config.ts";
import { createClusterKey } from "../../node/main/identity.ts";

export async function run(args: string[]): Promise<number> {
  if (args[0] !== "init") {
    stderr.write("usage: peerstack cluster init [--dir DIR] [--listen MULTIADDR] [--http HOST:PORT] [--name NAME] [--az AZ]\n");
    return 2;
  }
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = opt("--dir") ?? ".peerstack";
  const keyFile = join(dir, "cluster.key");
  const configFile = join(dir, "node.json");
  if (existsSync(keyFile) || existsSync(configFile)) {
    stderr.write(`peerstack cluster init: ${existsSync(keyFile) ? keyFile : configFile} exists already; refusing to replace a cluster's key\n`);
    return 1;
  }
  mkdirSync(dir, { recursive: true });
  createClusterKey(keyFile);
  const base = defaultConfig(opt("--name") ?? hostname(), join(dir, "node"));
  const config = {
    dataDir: base.dataDir,
    clusterKey: keyFile,
    listen: opt("--listen") ? [opt("--listen")!] : base.listen,
    http: opt("--http") ?? base.http,
    name: base.name,
    az: opt("--az") ?? base.az,
    join: [] as string[],
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(`cluster key: ${keyFile} (copy it to every node that joins)\nconfig:      ${configFile}\nstart with:  ./peerstack node --config ${configFile}\n`);
  return 0;
}
