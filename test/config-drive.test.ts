// The config drive as cloud-init sees it: the real builder and xorriso make the ISO, xorriso reads
// its label and osirrox extracts it, and cloud-init's own ConfigDriveReader (Debian's package,
// unpacked, not installed) parses it, network_data.json through its convert_net_json.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localRunner, run } from "../drivers/run.ts";
import { configDriveTree } from "../drivers/compute/config-drive.ts";
import { writeConfigDriveIso } from "../drivers/compute/config-drive-iso.ts";
import type { ConfigDriveData } from "../drivers/compute/interface.ts";
import { cloudInitPythonPath } from "./helpers/cloud-init.ts";

const data: ConfigDriveData = {
  uuid: "6a1b2c3d-0000-4000-8000-00000000cd01",
  name: "Web One",
  hostname: "web-one",
  availabilityZone: "edge-a",
  projectId: "proj-1",
  keys: [{ name: "lab", data: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEx lab@host" }],
  meta: { role: "web" },
  userDataBase64: Buffer.from("#!/bin/sh\ntouch /var/lib/marker\n").toString("base64"),
  links: [{ id: "tapcd01", mac: "fa:16:3e:cd:00:01", mtu: 1450 }],
  networks: [{ link: "tapcd01", networkId: "net-cd", address: "10.66.0.7/24", gateway: "10.66.0.1", dns: ["10.66.0.2"] }],
};

// Runs cloud-init's reader on the extracted drive; prints what the data source would hand cloud-init.
const READER = `
import json, sys
sys.path.insert(0, sys.argv[1])
from cloudinit.sources.helpers.openstack import ConfigDriveReader, convert_net_json
r = ConfigDriveReader(sys.argv[2]).read_v2()
md = r["metadata"]
net = convert_net_json(r["networkdata"], known_macs={"fa:16:3e:cd:00:01": "eth0"})
print(json.dumps({"version": r["version"], "hostname": md.get("hostname"), "uuid": md.get("uuid"),
  "keys": md.get("public_keys"), "user_data": r["userdata"].decode() if isinstance(r["userdata"], bytes) else r["userdata"],
  "ec2": r.get("ec2-metadata", {}).get("instance-id"), "net": net}, default=str))
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ps-configdrive-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("config drive ISO (real xorriso, real cloud-init reader)", () => {
  it("is an ISO9660 labelled config-2, 0600, and cloud-init reads hostname, keys, user_data and the static address from it", async () => {
    const iso = join(dir, "config-drive.iso");
    await writeConfigDriveIso(localRunner, configDriveTree(data), iso);
    expect((await stat(iso)).mode & 0o777).toBe(0o600);
    const pvd = await run("xorriso", ["-indev", iso, "-pvd_info"]);
    expect(pvd.stdout + pvd.stderr).toMatch(/Volume Id\s*:\s*config-2\b/);
    const blkid = await run("blkid", ["-o", "export", iso]);
    expect(blkid.stdout).toMatch(/^LABEL=config-2$/m);
    expect(blkid.stdout).toMatch(/^TYPE=iso9660$/m);
    const out = join(dir, "extracted");
    await run("osirrox", ["-indev", iso, "-extract", "/", out]);
    // Rock Ridge keeps the lower-case long names cloud-init opens (plain ISO9660 would not).
    expect((await stat(join(out, "openstack", "2018-08-27", "network_data.json"))).isFile()).toBe(true);

    const py = await cloudInitPythonPath();
    const res = await run("python3", ["-S", "-c", READER, py, out]);
    const seen = JSON.parse(res.stdout) as { version: number; hostname: string; uuid: string; keys: Record<string, string>; user_data: string; ec2: string; net: { config: Array<Record<string, unknown>> } };
    expect(seen).toMatchObject({ version: 2, hostname: "web-one", uuid: data.uuid, keys: { lab: data.keys[0]!.data }, user_data: "#!/bin/sh\ntouch /var/lib/marker\n", ec2: data.uuid });
    const phys = seen.net.config.find((c) => c.type === "physical");
    expect(phys).toMatchObject({ name: "eth0", mac_address: "fa:16:3e:cd:00:01", mtu: 1450 });
    expect(phys!.subnets).toEqual([expect.objectContaining({ type: "static", address: "10.66.0.7", netmask: "255.255.255.0", routes: [expect.objectContaining({ gateway: "10.66.0.1" })] })]);
    expect(seen.net.config.find((c) => c.type === "nameserver")).toMatchObject({ address: "10.66.0.2" });
  }, 600_000);
});
