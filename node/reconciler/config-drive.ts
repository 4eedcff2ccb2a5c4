// What the owner host puts on a server's config drive, from the catalog alone (server record,
// its ports and subnets, this node's AZ): no central metadata server is asked.
import type { ConfigDriveData } from "../../drivers/compute/interface.ts";
import type { ServerRecord } from "../../protocol/records.ts";
import type { PluggedNics } from "./ports.ts";

/** Does this server get a config drive? Its own wish (server create `config_drive`), else the node default. */
export function wantsConfigDrive(s: ServerRecord, nodeDefault: boolean): boolean {
  const asked = (s as { config_drive_requested?: unknown }).config_drive_requested;
  return typeof asked === "boolean" ? asked : nodeDefault;
}

export function configDriveData(s: ServerRecord, hostname: string, plugged: PluggedNics, az: string): ConfigDriveData {
  const md = s.metadata ?? {};
  const keyName = md.key_name ?? "key";
  const rec = s as { security_groups?: unknown; flavor_name?: unknown; availability_zone?: unknown };
  return {
    uuid: s.id,
    name: s.name,
    hostname,
    availabilityZone: typeof rec.availability_zone === "string" && rec.availability_zone ? rec.availability_zone : az,
    projectId: s.project_id,
    launchIndex: 0,
    ...(typeof rec.flavor_name === "string" ? { instanceType: rec.flavor_name } : {}),
    // Nova puts the server's one keypair on the drive; a second key (if any) gets a numbered name.
    keys: (md.ssh_keys ?? []).map((data, i) => ({ name: i === 0 ? keyName : `${keyName}-${i}`, data })),
    meta: md.extra ?? {},
    ...(md.user_data ? { userDataBase64: md.user_data } : {}),
    ...(Array.isArray(rec.security_groups) ? { securityGroups: rec.security_groups.map(String) } : {}),
    links: plugged.nics.map((n) => ({ id: n.tap, mac: n.mac, ...(n.mtu ? { mtu: n.mtu } : {}) })),
    networks: plugged.addresses,
  };
}
