import { describe, expect, it } from "vitest";
import { configDriveTree, netmask6Of, netmaskOf } from "./config-drive.ts";
import type { ConfigDriveData } from "./interface.ts";

const data: ConfigDriveData = {
  uuid: "0f6c2d5e-1111-4222-8333-444455556666",
  name: "web 1",
  hostname: "web-1",
  availabilityZone: "edge-a",
  projectId: "p1",
  keys: [{ name: "k1", data: "ssh-ed25519 AAAAC3Nza k1@lab" }],
  meta: { role: "web" },
  userDataBase64: Buffer.from("#!/bin/sh\ntouch /marker\n").toString("base64"),
  links: [{ id: "tap1234", mac: "fa:16:3e:00:00:01", mtu: 1450 }],
  networks: [{ link: "tap1234", networkId: "net-1", address: "10.0.0.5/24", gateway: "10.0.0.1", dns: ["10.0.0.2"] }],
};
const parse = (v: string | Buffer | undefined) => JSON.parse(String(v)) as Record<string, unknown>;

describe("config drive tree", () => {
  it("writes meta_data.json with Nova's field names in latest/ and the dated versions", () => {
    const t = configDriveTree(data);
    for (const v of ["latest", "2018-08-27", "2012-08-10"]) {
      expect(parse(t[`openstack/${v}/meta_data.json`])).toEqual({
        uuid: data.uuid, name: "web 1", hostname: "web-1", availability_zone: "edge-a", project_id: "p1", launch_index: 0,
        public_keys: { k1: "ssh-ed25519 AAAAC3Nza k1@lab" }, keys: [{ name: "k1", type: "ssh", data: "ssh-ed25519 AAAAC3Nza k1@lab" }],
        devices: [], meta: { role: "web" },
      });
      expect(String(t[`openstack/${v}/user_data`])).toBe("#!/bin/sh\ntouch /marker\n");
      expect(parse(t[`openstack/${v}/vendor_data.json`])).toEqual({});
      expect(parse(t[`openstack/${v}/vendor_data2.json`])).toEqual({});
    }
  });

  it("writes network_data.json: the link's MAC and MTU, the port's static address, route and DNS", () => {
    const nd = parse(configDriveTree(data)["openstack/latest/network_data.json"]);
    expect(nd).toEqual({
      links: [{ id: "tap1234", type: "phy", ethernet_mac_address: "fa:16:3e:00:00:01", mtu: 1450, vif_id: "tap1234" }],
      networks: [{
        id: "network0", type: "ipv4", link: "tap1234", ip_address: "10.0.0.5", netmask: "255.255.255.0", network_id: "net-1",
        routes: [{ network: "0.0.0.0", netmask: "0.0.0.0", gateway: "10.0.0.1" }], services: [{ type: "dns", address: "10.0.0.2" }],
      }],
      services: [{ type: "dns", address: "10.0.0.2" }],
    });
  });

  it("writes the ec2 tree; no user_data file when none was given", () => {
    const t = configDriveTree({ ...data, userDataBase64: undefined });
    expect(parse(t["ec2/latest/meta-data.json"])).toMatchObject({ "instance-id": data.uuid, hostname: "web-1", "local-ipv4": "10.0.0.5", "public-keys": { "0=k1": { "openssh-key": data.keys[0]!.data } } });
    expect(Object.keys(t).some((k) => k.endsWith("user_data") || k.endsWith("user-data"))).toBe(false);
  });

  it("an IPv6 fixed IP is an ipv6 network with Nova's v6 netmask and a :: default route (not an error)", () => {
    const nd = parse(configDriveTree({ ...data, networks: [{ link: "tap1234", networkId: "net-1", address: "fd00:1::5/64", gateway: "fd00:1::1" }] })["openstack/latest/network_data.json"]);
    expect((nd.networks as unknown[])[0]).toMatchObject({ type: "ipv6", ip_address: "fd00:1::5", netmask: "ffff:ffff:ffff:ffff:0:0:0:0", routes: [{ network: "::", netmask: "::", gateway: "fd00:1::1" }] });
    expect(netmask6Of("::/0")).toBe("0:0:0:0:0:0:0:0");
    expect(netmask6Of("fd00::/56")).toBe("ffff:ffff:ffff:ff00:0:0:0:0");
  });

  it("netmask of a prefix", () => {
    expect([netmaskOf("10.0.0.5/24"), netmaskOf("10.0.0.5/20"), netmaskOf("1.2.3.4/32"), netmaskOf("0.0.0.0/0")]).toEqual(["255.255.255.0", "255.255.240.0", "255.255.255.255", "0.0.0.0"]);
  });
});
