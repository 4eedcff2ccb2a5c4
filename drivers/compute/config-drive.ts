// OpenStack's config drive (the `config-2` volume cloud-init's ConfigDrive data source reads):
// the file tree, pure. Layout and field names as Nova's nova/api/metadata/base.py writes them and
// cloud-init's cloudinit/sources/helpers/openstack.py reads them.
import type { ConfigDriveData } from "./interface.ts";

/** The dated versions written beside latest/ (cloud-init picks the newest it knows; old readers take 2012-08-10). */
export const OPENSTACK_VERSIONS = ["2012-08-10", "2018-08-27", "latest"] as const;
export const EC2_VERSIONS = ["2009-04-04", "latest"] as const;

/** Path (relative to the drive's root) → content. */
export type ConfigDriveTree = Record<string, string | Buffer>;

const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";

export function metaData(d: ConfigDriveData): Record<string, unknown> {
  return {
    uuid: d.uuid,
    name: d.name,
    hostname: d.hostname,
    availability_zone: d.availabilityZone,
    project_id: d.projectId,
    launch_index: d.launchIndex ?? 0,
    // Nova's key name → key; cloud-init reads the values of public_keys.
    public_keys: Object.fromEntries(d.keys.map((k) => [k.name, k.data])),
    keys: d.keys.map((k) => ({ name: k.name, type: "ssh", data: k.data })),
    devices: [],
    meta: d.meta ?? {},
  };
}

/** Nova's network_data.json: one link per NIC, one network per fixed IP, DNS as services. */
export function networkData(d: ConfigDriveData): Record<string, unknown> {
  const links = d.links.map((l) => ({ id: l.id, type: "phy", ethernet_mac_address: l.mac, mtu: l.mtu ?? null, vif_id: l.id }));
  const networks = d.networks.map((n, i) => ({
    id: `network${i}`,
    type: n.address.includes(":") ? "ipv6" : "ipv4",
    link: n.link,
    ip_address: n.address.split("/")[0],
    netmask: n.address.includes(":") ? netmask6Of(n.address) : netmaskOf(n.address),
    routes: n.gateway ? [n.address.includes(":") ? { network: "::", netmask: "::", gateway: n.gateway } : { network: "0.0.0.0", netmask: "0.0.0.0", gateway: n.gateway }] : [],
    network_id: n.networkId,
    services: (n.dns ?? []).map((a) => ({ type: "dns", address: a })),
  }));
  const dns = [...new Set(d.networks.flatMap((n) => n.dns ?? []))];
  return { links, networks, services: dns.map((a) => ({ type: "dns", address: a })) };
}

/** The dotted netmask of an IPv4 CIDR (Nova writes netmask, not the prefix). */
export function netmaskOf(cidr: string): string {
  const bits = Number(cidr.split("/")[1] ?? 32);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`"${cidr}" has no IPv4 prefix length`);
  const m = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join(".");
}

/** The IPv6 netmask of a CIDR, as Nova writes it (e.g. ffff:ffff:ffff:ffff:0:0:0:0). */
export function netmask6Of(cidr: string): string {
  const bits = Number(cidr.split("/")[1] ?? 128);
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`"${cidr}" has no IPv6 prefix length`);
  return Array.from({ length: 8 }, (_, g) => {
    const take = Math.max(0, Math.min(16, bits - g * 16));
    return ((0xffff << (16 - take)) & 0xffff).toString(16);
  }).join(":");
}

/** EC2's meta-data.json (cloud-init's ConfigDrive source reads it for the ec2 metadata). */
export function ec2MetaData(d: ConfigDriveData): Record<string, unknown> {
  return {
    "ami-id": "ami-00000001",
    "ami-launch-index": d.launchIndex ?? 0,
    "instance-id": d.uuid,
    "instance-type": d.instanceType ?? "",
    hostname: d.hostname,
    "local-hostname": d.hostname,
    "local-ipv4": d.networks.find((n) => !n.address.includes(":"))?.address.split("/")[0] ?? null,
    placement: { "availability-zone": d.availabilityZone },
    "public-keys": Object.fromEntries(d.keys.map((k, i) => [`${i}=${k.name}`, { "openssh-key": k.data }])),
    "reservation-id": `r-${d.uuid.slice(0, 8)}`,
    "security-groups": d.securityGroups ?? [],
  };
}

/** The whole tree. user_data is the tenant's bytes (base64 in the API, decoded here). */
export function configDriveTree(d: ConfigDriveData): ConfigDriveTree {
  const out: ConfigDriveTree = {};
  const userData = d.userDataBase64 !== undefined ? Buffer.from(d.userDataBase64, "base64") : undefined;
  for (const v of OPENSTACK_VERSIONS) {
    out[`openstack/${v}/meta_data.json`] = json(metaData(d));
    out[`openstack/${v}/network_data.json`] = json(networkData(d));
    out[`openstack/${v}/vendor_data.json`] = json({});
    out[`openstack/${v}/vendor_data2.json`] = json({});
    if (userData) out[`openstack/${v}/user_data`] = userData;
  }
  for (const v of EC2_VERSIONS) {
    out[`ec2/${v}/meta-data.json`] = json(ec2MetaData(d));
    if (userData) out[`ec2/${v}/user-data`] = userData;
  }
  return out;
}
