import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "psmesh-config-"));
// Never the developer's own .peerstack/node.json.
const load = (args: string[], env: Record<string, string>, host: string) => loadConfig(args, env, host, join(dir, "none.json"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadConfig", () => {
  it("embedded defaults with nothing given", () => {
    const { config, rest } = load([], {}, "host-a");
    expect(config).toMatchObject({ dataDir: ".peerstack/node", http: "127.0.0.1:8774", listen: ["/ip4/0.0.0.0/tcp/8775"], name: "host-a", writeAcks: 1, join: [] });
    expect(config.clusterKey).toBe(".peerstack/cluster.key");
    expect(rest).toEqual([]);
  });

  it("file < env < flags; repeated list flags add up; --data-dir moves the derived defaults", () => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify({ name: "from-file", az: "az-file", http: "127.0.0.1:1", writeAcks: 2 }));
    const { config, rest } = load(
      ["--config", file, "--http=127.0.0.1:3", "--join", "/ip4/10.0.0.1/tcp/1", "--join", "/ip4/10.0.0.2/tcp/1", "extra"],
      { PEERSTACK_NAME: "from-env", PEERSTACK_HTTP: "127.0.0.1:2", PEERSTACK_LISTEN: "/ip4/127.0.0.1/tcp/0,/ip6/::1/tcp/0", PEERSTACK_DATA_DIR: "/var/lib/ps" },
      "h",
    );
    expect(config).toMatchObject({ name: "from-env", az: "az-file", http: "127.0.0.1:3", writeAcks: 2, dataDir: "/var/lib/ps", clusterKey: "/var/lib/cluster.key" });
    expect(config.listen).toEqual(["/ip4/127.0.0.1/tcp/0", "/ip6/::1/tcp/0"]);
    expect(config.join).toEqual(["/ip4/10.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1"]);
    expect(rest).toEqual(["extra"]);
  });

  it("refuses unknown file settings, bad numbers and bad HTTP addresses with a named error", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ colour: "blue" }));
    expect(() => load(["--config", file], {}, "h")).toThrow(ConfigError);
    expect(() => load(["--acks", "many"], {}, "h")).toThrow(/not a number/);
    expect(() => load(["--http", "8774"], {}, "h")).toThrow(/host:port/);
    expect(() => load(["--config", join(dir, "missing.json")], {}, "h")).toThrow(ConfigError);
  });

  it("the operator listener defaults to a socket in the data dir; --operator and --metrics take addresses", () => {
    expect(load(["--data-dir", "/var/lib/ps"], {}, "h").config).toMatchObject({ operator: "unix:/var/lib/ps/operator.sock", metrics: "" });
    expect(load(["--operator", "127.0.0.1:8779", "--metrics", "[::1]:9100"], {}, "h").config).toMatchObject({ operator: "127.0.0.1:8779", metrics: "[::1]:9100" });
    expect(() => load(["--operator", "8779"], {}, "h")).toThrow(/operator address "8779"/);
    expect(() => load(["--operator", "unix:"], {}, "h")).toThrow(/names no socket file/);
    expect(() => load(["--metrics", "9100"], {}, "h")).toThrow(/metrics address/);
  });
});
