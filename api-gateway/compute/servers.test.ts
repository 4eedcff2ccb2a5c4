// Route tests for servers, actions, groups, hypervisors, quota sets, volume attachments over a real
// CrdtStore, with an in-memory placement entry point (the real one: servers-placement.test.ts).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import type { CreateServerRequest } from "../../node/placement-service.ts";
import { QuotaExceededError } from "../../node/quota/limits.ts";
import type { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { testGateway, type TestGateway } from "../testing/fixture.ts";
import { attachServerBackend, type ServerBackend } from "./server-backend.ts";

/** Writes the BUILD record like the placement service and "places" it on `host` at once (or ERROR). */
function fakeBackend(g: TestGateway, opts: { host?: string; limit?: number } = {}) {
  const calls: CreateServerRequest[] = [];
  const released: unknown[] = [];
  const b: ServerBackend = {
    placement: {
      quotaOf: (f) => ({ instances: 1, cores: f.vcpus, ram: f.ram }),
      async createServer(req) {
        if (calls.filter((c) => c.project === req.project).length >= (opts.limit ?? 10)) throw new QuotaExceededError(req.project, "instances", 1, opts.limit ?? 10, opts.limit ?? 10);
        calls.push(req);
        await g.store.put("server", req.id, { ...req.fields, name: req.name, project_id: req.project, flavor_id: req.flavor.id, vcpus: req.flavor.vcpus, ram: req.flavor.ram, disk: req.flavor.disk, image_id: req.image?.id, group_id: req.group?.id ?? null, status: "BUILD", task_state: "scheduling", host: null });
        const record = { ...g.store.get("server", req.id)! };
        const placed = (async () => {
          if (opts.host) await g.store.put("server", req.id, { host: opts.host, task_state: "spawning" });
          else await g.store.put("server", req.id, { status: "ERROR", task_state: null, fault: { code: 500, message: "No valid host was found. There are not enough hosts available." } });
          return { ...g.store.get("server", req.id)! };
        })();
        return { record, placed };
      },
    },
    quota: { release: async (p, a) => void released.push([p, a]), setLimit: async () => {}, counter: () => bc.empty() },
    consoleOutput: async (s, length) => `console of ${s.id} on ${s.host} last ${length ?? "all"}`,
    // Adverts: "quiet" stopped advertising a minute ago, "loud" a second ago.
    capacity: { get: () => undefined, ageMs: (node) => ({ quiet: 60_000, loud: 1000 })[node] },
  };
  return { b, calls, released };
}

describe("Nova servers routes", () => {
  let g: TestGateway;
  let admin: string;
  let bob: string;
  let eve: string;
  let detach: () => void;
  let fake: ReturnType<typeof fakeBackend>;
  beforeEach(async () => {
    g = await testGateway({ publicUrl: "http://h:8774" });
    admin = await g.token();
    const h = { "x-auth-token": admin };
    const member = g.store.list("role", (r) => r.name === "member")[0];
    for (const [proj, user] of [["demo", "bob"], ["other", "eve"]]) {
      const p = (await g.app.inject({ method: "POST", url: "/identity/v3/projects", headers: h, payload: { project: { name: proj } } })).json().project;
      const u = (await g.app.inject({ method: "POST", url: "/identity/v3/users", headers: h, payload: { user: { name: user, password: `${user}-pw` } } })).json().user;
      await g.app.inject({ method: "PUT", url: `/identity/v3/projects/${p.id}/users/${u.id}/roles/${member.id}`, headers: h });
    }
    bob = await g.token("bob", "bob-pw", "demo");
    eve = await g.token("eve", "eve-pw", "other");
    await g.store.put("image", "img1", { name: "cirros", visibility: "public", status: "active" });
    fake = fakeBackend(g, { host: g.nodeKey.id });
    detach = attachServerBackend(g.nodeKey.id, fake.b);
  });
  afterEach(async () => {
    detach();
    await g.close();
  });

  const nova = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, token: string, payload?: unknown, version?: string) =>
    g.app.inject({ method, url: `/compute/v2.1${url}`, headers: { "x-auth-token": token, ...(version ? { "openstack-api-version": `compute ${version}` } : {}) }, ...(payload !== undefined ? { payload: payload as object } : {}) });
  const neutron = (url: string, token: string, payload: unknown) => g.app.inject({ method: "POST", url: `/networking/v2.0${url}`, headers: { "x-auth-token": token }, payload: payload as object });
  const boot = (token: string, extra: object = {}) => nova("POST", "/servers", token, { server: { name: "vm", flavorRef: "1", imageRef: "img1", networks: "none", ...extra } });

  it("create: 202 with id, links (no adminPass); record BUILD with flavor, metadata, key; show after placement", async () => {
    const kp = await nova("POST", "/os-keypairs", bob, { keypair: { name: "k1" } });
    expect(kp.statusCode).toBe(200);
    const res = await boot(bob, { key_name: "k1", metadata: { role: "web" }, user_data: Buffer.from("#!/bin/sh\necho hi").toString("base64") });
    expect(res.statusCode).toBe(202);
    const s = res.json().server;
    expect(s).toMatchObject({ "OS-DCF:diskConfig": "MANUAL", security_groups: [{ name: "default" }] });
    expect(s.links[0].href).toBe(`http://h:8774/compute/v2.1/servers/${s.id}`);
    expect(s).not.toHaveProperty("adminPass"); // nothing would set it in the guest
    const rec = g.store.get("server", s.id)!;
    expect(rec).toMatchObject({ flavor: { vcpus: 1, ram: 512, disk: 1 }, desired: "active", key_name: "k1", image_id: "img1" });
    expect((rec.metadata as { ssh_keys: string[]; extra: object }).ssh_keys[0]).toMatch(/^ssh-rsa /);
    expect((rec.metadata as { extra: object }).extra).toEqual({ role: "web" });
    expect(fake.calls[0]).toMatchObject({ name: "vm", flavor: { id: "1", vcpus: 1, ram: 512, disk: 1 }, image: { id: "img1" } });
    const shown = (await nova("GET", `/servers/${s.id}`, bob)).json().server;
    expect(shown).toMatchObject({ id: s.id, name: "vm", status: "BUILD", key_name: "k1", metadata: { role: "web" }, image: { id: "img1" }, flavor: { id: "1" }, "OS-EXT-STS:vm_state": "building", "OS-EXT-STS:task_state": "spawning", accessIPv4: "", config_drive: "" });
    expect(shown.hostId).toMatch(/^[0-9a-f]{56}$/);
    expect(shown).not.toHaveProperty("OS-EXT-SRV-ATTR:host");
    const asAdmin = (await nova("GET", `/servers/${s.id}`, admin, undefined, "2.47")).json().server;
    expect(asAdmin["OS-EXT-SRV-ATTR:host"]).toBe(`host-${g.nodeKey.id.slice(-6)}`);
    expect(asAdmin.flavor).toMatchObject({ vcpus: 1, ram: 512, disk: 1, original_name: "m1.tiny" });
  });

  it("config_drive: true/\"False\" recorded as the request, absent left to the node, junk 400; shown \"True\" once the owner attached one", async () => {
    const on = (await boot(bob, { config_drive: true })).json().server;
    expect(g.store.get("server", on.id)!.config_drive_requested).toBe(true);
    const off = (await boot(bob, { config_drive: "False" })).json().server;
    expect(g.store.get("server", off.id)!.config_drive_requested).toBe(false);
    const dflt = (await boot(bob)).json().server;
    expect(g.store.get("server", dflt.id)).not.toHaveProperty("config_drive_requested");
    const bad = await boot(bob, { config_drive: "maybe" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().badRequest.message).toMatch(/config_drive/);
    await g.store.put("server", on.id, { config_drive: true });
    expect((await nova("GET", `/servers/${on.id}`, bob)).json().server.config_drive).toBe("True");
  });

  it("create answer: only the keys Tempest's create_server schema allows (id, links, diskConfig, security_groups), at every microversion", async () => {
    // tempest/lib/api_schema/response/compute/v2_1/servers.py create_server (enable_instance_password False): additionalProperties False
    const allowed = ["OS-DCF:diskConfig", "id", "links", "security_groups"];
    for (const version of ["2.1", "2.47", "2.79"]) {
      const res = await nova("POST", "/servers", bob, { server: { name: "vm", flavorRef: "1", imageRef: "img1", networks: "none" } }, version);
      expect(res.statusCode).toBe(202);
      expect(Object.keys(res.json()), version).toEqual(["server"]);
      const s = res.json().server;
      expect(Object.keys(s).sort(), version).toEqual(allowed);
      expect(typeof s.id).toBe("string");
      for (const l of s.links) expect(Object.keys(l).sort()).toEqual(["href", "rel"]);
      expect(Array.isArray(s.security_groups)).toBe(true);
    }
  });

  it("update answer: below 2.75 only the keys of Tempest's update_server schema (no OS-EXT-*, key_name, security_groups; bare addresses); the full view from 2.75", async () => {
    // tempest/lib/api_schema/response/compute/v2_1/servers.py update_server = common_show_server (additionalProperties False), + locked 2.9, description 2.19, tags 2.26, ... ; v2_75 = get_server
    const base = ["OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "addresses", "created", "flavor", "hostId", "id", "image", "links", "metadata", "name", "progress", "status", "tenant_id", "updated", "user_id"];
    const id = (await boot(bob)).json().server.id;
    const at = async (version: string, token = bob) => (await nova("PUT", `/servers/${id}`, token, { server: { name: `n${version}` } }, version)).json().server;
    expect(Object.keys(await at("2.1")).sort()).toEqual(base);
    expect(Object.keys(await at("2.1", admin)).sort()).toEqual(base);
    expect(Object.keys(await at("2.26")).sort()).toEqual([...base, "description", "locked", "tags"].sort());
    const full = await at("2.75", admin);
    expect(full.name).toBe("n2.75");
    expect(full).toHaveProperty("OS-EXT-STS:vm_state");
    expect(full).toHaveProperty("OS-EXT-SRV-ATTR:host");
    expect(full).toHaveProperty("security_groups");
    for (const list of Object.values((await at("2.1")).addresses as Record<string, object[]>)) for (const a of list) expect(Object.keys(a).sort()).toEqual(["addr", "version"]);
    // progress only in the statuses that make progress (Nova's _progress_statuses; Tempest asserts it gone once SHUTOFF)
    await g.store.put("server", id, { status: "SHUTOFF" });
    expect(await at("2.1")).not.toHaveProperty("progress");
    expect((await nova("GET", `/servers/${id}`, bob)).json().server).not.toHaveProperty("progress");
  });

  it("block_device_mapping_v2: 400 naming what is unsupported, never 202 with it ignored; the image as local root disk is accepted", async () => {
    const bdm = (m: object) => ({ block_device_mapping_v2: [m] });
    const fromVolume = await boot(bob, bdm({ source_type: "volume", destination_type: "volume", uuid: "vol-1", boot_index: 0 }));
    expect(fromVolume.statusCode).toBe(400);
    expect(fromVolume.json().badRequest.message).toMatch(/source_type "volume"/);
    const imageToVolume = await boot(bob, bdm({ source_type: "image", destination_type: "volume", uuid: "img1", boot_index: 0, volume_size: 1 }));
    expect(imageToVolume.json().badRequest.message).toMatch(/volume_size/);
    expect((await boot(bob, bdm({ source_type: "image", destination_type: "volume", uuid: "img1", boot_index: 0 }))).json().badRequest.message).toMatch(/destination_type "volume"/);
    expect((await boot(bob, bdm({ source_type: "blank", destination_type: "local", boot_index: -1, guest_format: "swap" }))).json().badRequest.message).toMatch(/guest_format/);
    expect((await boot(bob, bdm({ source_type: "image", destination_type: "local", uuid: "img1", boot_index: 1 }))).json().badRequest.message).toMatch(/boot_index 1/);
    expect((await boot(bob, bdm({ source_type: "image", destination_type: "local", uuid: "other-image", boot_index: 0 }))).json().badRequest.message).toMatch(/not imageRef img1/);
    const two = { block_device_mapping_v2: [{ source_type: "image", uuid: "img1", boot_index: 0 }, { source_type: "volume", uuid: "v", boot_index: 1 }] };
    expect((await boot(bob, two)).json().badRequest.message).toMatch(/2 mappings/);
    expect((await boot(bob, { block_device_mapping: [{ volume_id: "v", device_name: "vda" }] })).json().badRequest.message).toMatch(/legacy/);
    expect((await boot(bob, { block_device_mapping_v2: { source_type: "image" } })).statusCode).toBe(400);
    expect((await boot(bob, { block_device_mapping_v2: [null] })).statusCode).toBe(400);
    expect(fake.calls).toHaveLength(0);
    // Another project's private image is not reachable through a mapping either.
    await g.store.put("image", "private-img", { name: "secret", visibility: "private", owner: "someone-else", status: "active" });
    const foreign = await nova("POST", "/servers", bob, { server: { name: "vm", flavorRef: "1", networks: "none", ...bdm({ source_type: "image", destination_type: "local", uuid: "private-img", boot_index: 0 }) } });
    expect(foreign.json().badRequest.message).toBe("Image private-img could not be found.");
    // The trivial mapping, with or without imageRef, boots the image.
    expect((await boot(bob, bdm({ source_type: "image", destination_type: "local", uuid: "img1", boot_index: 0, delete_on_termination: true }))).statusCode).toBe(202);
    const noRef = await nova("POST", "/servers", bob, { server: { name: "vm2", flavorRef: "1", networks: "none", ...bdm({ source_type: "image", destination_type: "local", uuid: "img1", boot_index: "0" }) } });
    expect(noRef.statusCode).toBe(202);
    expect(fake.calls.map((c) => c.image?.id)).toEqual(["img1", "img1"]);
  });

  it("create validation: flavor, image, key, user_data, networks at 2.37; quota exceeded is 403", async () => {
    expect((await boot(bob, { flavorRef: "99" })).json().badRequest.message).toBe("Flavor 99 could not be found.");
    expect((await boot(bob, { imageRef: "nope" })).statusCode).toBe(400);
    expect((await boot(bob, { key_name: "missing" })).json().badRequest.message).toBe("Invalid key_name provided.");
    expect((await boot(bob, { user_data: "not base64!!" })).json().badRequest.message).toBe("User data needs to be valid base 64.");
    const noNets = await nova("POST", "/servers", bob, { server: { name: "x", flavorRef: "1", imageRef: "img1" } }, "2.37");
    expect(noNets.statusCode).toBe(400);
    const limited = fakeBackend(g, { host: g.nodeKey.id, limit: 1 });
    detach();
    detach = attachServerBackend(g.nodeKey.id, limited.b);
    expect((await boot(bob)).statusCode).toBe(202);
    const over = await boot(bob);
    expect(over.statusCode).toBe(403);
    expect(over.json().forbidden.message).toMatch(/^Quota exceeded for instances: Requested 1, but already used 1 of 1 instances/);
  });

  it("accessIPv4/accessIPv6 stored from create and update (400 when malformed); ip/ip6 filters match the fixed addresses by regex", async () => {
    const net = (await neutron("/networks", bob, { network: { name: "acc" } })).json().network;
    await neutron("/subnets", bob, { subnet: { network_id: net.id, cidr: "10.8.0.0/24", ip_version: 4 } });
    const s = (await boot(bob, { networks: [{ uuid: net.id }], accessIPv6: "2001:db8::2" })).json().server;
    const other = (await boot(bob)).json().server;
    expect((await nova("GET", `/servers/${s.id}`, bob)).json().server).toMatchObject({ accessIPv4: "", accessIPv6: "2001:db8::2" });
    const up = (await nova("PUT", `/servers/${s.id}`, bob, { server: { accessIPv4: "192.0.2.7", accessIPv6: "2001:db8::7" } })).json().server;
    expect(up).toMatchObject({ accessIPv4: "192.0.2.7", accessIPv6: "2001:db8::7" });
    expect((await nova("GET", `/servers/${s.id}`, bob)).json().server).toMatchObject({ accessIPv4: "192.0.2.7", accessIPv6: "2001:db8::7" });
    const bad = await nova("PUT", `/servers/${s.id}`, bob, { server: { accessIPv4: "2001:db8::7" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().badRequest.message).toContain("accessIPv4");
    expect((await boot(bob, { accessIPv6: "nope" })).statusCode).toBe(400);
    const ip = (await nova("GET", `/servers/${s.id}`, bob)).json().server.addresses.acc[0].addr as string;
    const ids = async (q: string) => (await nova("GET", `/servers?${q}`, bob)).json().servers.map((x: { id: string }) => x.id);
    expect(await ids(`ip=${ip}`)).toEqual([s.id]);
    expect(await ids("ip=10.8.0")).toEqual([s.id]);
    expect(await ids("ip=10.77.")).toEqual([]);
    expect(await ids("ip6=10.8.0")).toEqual([]);
    expect(await ids("")).toContain(other.id);
    expect((await nova("GET", "/servers?ip=(", bob)).statusCode).toBe(400);
  });

  it("ports: one per network with an IPAM address; addresses in the view; ERROR server deleted locally frees them", async () => {
    const net = (await neutron("/networks", bob, { network: { name: "private" } })).json().network;
    await neutron("/subnets", bob, { subnet: { network_id: net.id, cidr: "10.9.0.0/24", ip_version: 4 } });
    const s = (await boot(bob, { networks: [{ uuid: net.id }] })).json().server;
    const rec = g.store.get("server", s.id)!;
    expect(rec.ports).toHaveLength(1);
    const port = g.store.get("port", (rec.ports as string[])[0])!;
    expect(port).toMatchObject({ network_id: net.id, device_id: s.id, device_owner: "compute:nova" });
    const addr = (await nova("GET", `/servers/${s.id}`, bob)).json().server.addresses;
    expect(addr.private[0]).toMatchObject({ addr: (port.fixed_ips as { ip_address: string }[])[0].ip_address, version: 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac_address });
    expect((port.fixed_ips as { ip_address: string }[])[0].ip_address).toMatch(/^10\.9\.0\./);
    // networks omitted (2.1) with exactly one network: that one
    const auto = (await boot(bob, { networks: undefined })).json().server;
    expect(g.store.get("server", auto.id)!.ports).toHaveLength(1);
    // a placed server's ports go when its owner removes the record after the delete
    const autoPort = (g.store.get("server", auto.id)!.ports as string[])[0];
    await new Promise((r) => setImmediate(r));
    expect((await nova("DELETE", `/servers/${auto.id}`, bob)).statusCode).toBe(204);
    expect(g.store.get("port", autoPort)).toBeDefined();
    await g.store.remove("server", auto.id); // the owner's remove
    for (let i = 0; i < 20 && g.store.get("port", autoPort); i++) await new Promise((r) => setImmediate(r));
    expect(g.store.get("port", autoPort)).toBeUndefined();
    // unplaced (ERROR) server: fault shown, delete removes record and port here
    detach();
    detach = attachServerBackend(g.nodeKey.id, fakeBackend(g, {}).b);
    const bad = (await boot(bob, { networks: [{ uuid: net.id }] })).json().server;
    await new Promise((r) => setImmediate(r));
    const shown = (await nova("GET", `/servers/${bad.id}`, bob)).json().server;
    expect(shown.status).toBe("ERROR");
    expect(shown.fault.message).toMatch(/^No valid host was found/);
    const badPort = (g.store.get("server", bad.id)!.ports as string[])[0];
    expect((await nova("DELETE", `/servers/${bad.id}`, bob)).statusCode).toBe(204);
    expect(g.store.get("server", bad.id)).toBeUndefined();
    expect(g.store.get("port", badPort)).toBeUndefined();
  });

  it("list/detail: project scoping, all_tenants for admin, name/status filters, limit/marker; isolation 404", async () => {
    const ids: string[] = [];
    for (const n of ["a1", "a2", "b1"]) {
      ids.push((await boot(bob, { name: n })).json().server.id);
      (g.clock as ManualClock).advance(1000);
    }
    const e = (await boot(eve, { name: "eve-vm" })).json().server.id;
    expect((await nova("GET", "/servers", bob)).json().servers.map((s: { name: string }) => s.name).sort()).toEqual(["a1", "a2", "b1"]);
    expect((await nova("GET", "/servers?name=^a", bob)).json().servers).toHaveLength(2);
    expect((await nova("GET", "/servers/detail?status=BUILD", bob)).json().servers).toHaveLength(3);
    expect((await nova("GET", "/servers/detail?status=ACTIVE", bob)).json().servers).toHaveLength(0);
    const page1 = (await nova("GET", "/servers?limit=2", bob)).json().servers;
    const page2 = (await nova("GET", `/servers?limit=2&marker=${page1[1].id}`, bob)).json().servers;
    expect([...page1, ...page2].map((s: { id: string }) => s.id).sort()).toEqual([...ids].sort());
    expect((await nova("GET", "/servers", admin)).json().servers).toHaveLength(0);
    expect((await nova("GET", "/servers?all_tenants=1", admin)).json().servers).toHaveLength(4);
    expect((await nova("GET", "/servers?all_tenants=1", bob)).json().servers).toHaveLength(3);
    const foreign = await nova("GET", `/servers/${e}`, bob);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().itemNotFound.message).toBe(`Instance ${e} could not be found.`);
    expect((await nova("DELETE", `/servers/${e}`, bob)).statusCode).toBe(404);
    expect((await nova("POST", `/servers/${e}/action`, bob, { "os-stop": null })).statusCode).toBe(404);
    expect((await nova("PUT", `/servers/${ids[0]}`, bob, { server: { name: "renamed" } })).json().server.name).toBe("renamed");
  });

  it("actions: stop/start/reboot write desired and reboot_seq; 409 on invalid state; console output; delete leaves the quota to the owner host", async () => {
    const id = (await boot(bob)).json().server.id;
    await new Promise((r) => setImmediate(r));
    const act = (body: object) => nova("POST", `/servers/${id}/action`, bob, body);
    const early = await act({ "os-stop": null });
    expect(early.statusCode).toBe(409);
    expect(early.json().conflictingRequest.message).toBe(`Cannot 'stop' instance ${id} while it is in vm_state building`);
    await g.store.put("server", id, { status: "ACTIVE", vm_state: "active", task_state: null, power_state: 1 }); // the owner's write
    const start = await act({ "os-start": null });
    expect(start.statusCode).toBe(409);
    expect(start.json().conflictingRequest.message).toBe(`Cannot 'start' instance ${id} while it is in vm_state active`);
    expect((await act({ "os-stop": null })).statusCode).toBe(202);
    expect(g.store.get("server", id)!.desired).toBe("stopped");
    expect((await act({ reboot: { type: "SOFT" } })).statusCode).toBe(202);
    expect((await act({ reboot: { type: "HARD" } })).statusCode).toBe(202);
    expect(g.store.get("server", id)).toMatchObject({ reboot_seq: 2, reboot_type: "HARD" });
    expect((await act({ reboot: { type: "MEDIUM" } })).statusCode).toBe(400);
    await g.store.put("server", id, { status: "SHUTOFF", vm_state: "stopped", power_state: 4 });
    expect((await act({ "os-start": null })).statusCode).toBe(202);
    expect(g.store.get("server", id)!.desired).toBe("active");
    expect((await act({ "os-getConsoleOutput": { length: 10 } })).json().output).toBe(`console of ${id} on ${g.nodeKey.id} last 10`);
    expect((await act({ bogus: {} })).json().badRequest.message).toBe("There is no such action: bogus");
    // No console proxy: Nova's "unavailable console type", with where the serial log is.
    const vnc = await nova("POST", `/servers/${id}/remote-consoles`, bob, { remote_console: { protocol: "vnc", type: "novnc" } }, "2.6");
    expect(vnc.statusCode).toBe(400);
    expect(vnc.json().badRequest.message).toMatch(/^Unavailable console type novnc\. .*openstack console log show/);
    expect((await act({ "os-getVNCConsole": { type: "novnc" } })).json().badRequest.message).toMatch(/^Unavailable console type novnc/);
    expect((await nova("POST", "/servers/nope/remote-consoles", bob, { remote_console: { protocol: "vnc", type: "novnc" } }, "2.6")).statusCode).toBe(404);
    expect((await nova("DELETE", `/servers/${id}`, bob)).statusCode).toBe(204);
    expect(g.store.get("server", id)!.desired).toBe("deleted");
    expect((await nova("DELETE", `/servers/${id}`, bob)).statusCode).toBe(204);
    expect(fake.released).toEqual([]); // the owner returns it when it removes the record (node/quota/owner-release.ts)
    expect((await nova("GET", `/servers/${id}`, bob)).json().server["OS-EXT-STS:task_state"]).toBe("deleting");
  });

  it("lock/unlock (a locked server refuses actions and delete from its owner, not from an admin) and os-resetState (admin)", async () => {
    const id = (await boot(bob)).json().server.id;
    await new Promise((r) => setImmediate(r));
    await g.store.put("server", id, { status: "ACTIVE", vm_state: "active", task_state: null, power_state: 1 });
    const act = (body: object, who = bob, v?: string) => nova("POST", `/servers/${id}/action`, who, body, v);
    expect((await act({ lock: { locked_reason: "audit" } }, bob, "2.73")).statusCode).toBe(202);
    expect((await nova("GET", `/servers/${id}`, bob, undefined, "2.73")).json().server).toMatchObject({ locked: true, locked_reason: "audit" });
    expect((await nova("GET", `/servers/${id}`, bob, undefined, "2.9")).json().server.locked).toBe(true);
    const refused = await act({ "os-stop": null });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().conflictingRequest.message).toBe(`Instance ${id} is locked`);
    expect((await nova("DELETE", `/servers/${id}`, bob)).statusCode).toBe(409);
    expect((await act({ "os-getConsoleOutput": {} })).statusCode).toBe(200); // reading is not a change
    expect((await act({ "os-stop": null }, admin)).statusCode).toBe(202); // admins pass a lock
    expect((await act({ unlock: null })).statusCode).toBe(202);
    expect((await nova("GET", `/servers/${id}`, bob, undefined, "2.73")).json().server).toMatchObject({ locked: false, locked_reason: null });
    expect((await act({ lock: { locked_reason: "x" } })).statusCode).toBe(400); // a reason needs 2.73
    // An admin's lock on a member's server: the owner cannot lift it.
    expect((await act({ lock: null }, admin)).statusCode).toBe(202);
    expect((await act({ unlock: null })).statusCode).toBe(403);
    expect((await act({ unlock: null }, admin)).statusCode).toBe(202);

    expect((await act({ "os-resetState": { state: "error" } })).statusCode).toBe(403);
    expect((await act({ "os-resetState": { state: "paused" } }, admin)).statusCode).toBe(400);
    expect((await act({ "os-resetState": { state: "error" } }, admin)).statusCode).toBe(202);
    expect((await nova("GET", `/servers/${id}`, bob)).json().server).toMatchObject({ status: "ERROR", "OS-EXT-STS:vm_state": "error" });
    expect((await act({ "os-resetState": { state: "active" } }, admin)).statusCode).toBe(202);
    expect((await nova("GET", `/servers/${id}`, bob)).json().server).toMatchObject({ status: "ACTIVE", "OS-EXT-STS:task_state": null });
  });

  it("usage (os-simple-tenant-usage): hours of existing servers over the period, vCPU/RAM/disk hours; admin lists, members see their own", async () => {
    const id = (await boot(bob)).json().server.id;
    const now = g.clock.now();
    const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "");
    await g.store.put("server", id, { created_at: new Date(now - 2 * 3_600_000).toISOString(), vm_state: "active" }); // 2 hours old
    const q = `start=${iso(now - 3_600_000)}&end=${iso(now)}`; // the last hour
    const list = (await nova("GET", `/os-simple-tenant-usage?${q}&detailed=1`, admin)).json().tenant_usages;
    const project = String(g.store.get("server", id)!.project_id);
    const mine = list.find((u: { tenant_id: string }) => u.tenant_id === project);
    expect(mine).toMatchObject({ total_hours: 1, total_vcpus_usage: 1, total_memory_mb_usage: 512, start: `${iso(now - 3_600_000)}000`, stop: `${iso(now)}000` });
    expect(mine.server_usages).toEqual([expect.objectContaining({ instance_id: id, hours: 1, vcpus: 1, memory_mb: 512, state: "active", ended_at: null, uptime: 7200 })]);
    expect((await nova("GET", `/os-simple-tenant-usage/${project}?${q}`, bob)).json().tenant_usage).toMatchObject({ tenant_id: project, total_hours: 1 });
    expect((await nova("GET", `/os-simple-tenant-usage?${q}`, bob)).statusCode).toBe(403);
    expect((await nova("GET", "/os-simple-tenant-usage/someone-else", bob)).statusCode).toBe(403);
    expect((await nova("GET", `/os-simple-tenant-usage/${project}?start=${iso(now + 3_600_000)}&end=${iso(now + 7_200_000)}`, bob)).json()).toEqual({ tenant_usage: {} }); // a future period: the servers' hours are cut at now
    expect((await nova("GET", `/os-simple-tenant-usage?start=yesterday`, admin)).statusCode).toBe(400);
    expect((await nova("GET", `/os-simple-tenant-usage?start=${iso(now)}&end=${iso(now - 1000)}`, admin)).statusCode).toBe(400);
  });

  it("instance actions: the create from the server record, later actions as records; events for admins; gone with the server", async () => {
    const created = await boot(bob);
    const id = created.json().server.id;
    const createReq = String(created.headers["x-openstack-request-id"]);
    await new Promise((r) => setImmediate(r));
    await g.store.put("server", id, { status: "ACTIVE", vm_state: "active", task_state: null, power_state: 1 });
    (g.clock as unknown as { advance(ms: number): void }).advance(1000); // the fixture runs a ManualClock
    const stop = await nova("POST", `/servers/${id}/action`, bob, { "os-stop": null });
    const stopReq = String(stop.headers["x-openstack-request-id"]);
    const list = (await nova("GET", `/servers/${id}/os-instance-actions`, bob)).json().instanceActions;
    expect(list.map((x: { action: string }) => x.action)).toEqual(["stop", "create"]);
    expect(list[1]).toMatchObject({ action: "create", instance_uuid: id, request_id: createReq, message: null });
    expect(list[0]).toMatchObject({ action: "stop", request_id: stopReq });
    const own = (await nova("GET", `/servers/${id}/os-instance-actions/${createReq}`, bob)).json().instanceAction;
    expect(own.events).toBeUndefined(); // events are for admins (Nova's default policy)
    const seen = (await nova("GET", `/servers/${id}/os-instance-actions/${createReq}`, admin)).json().instanceAction;
    expect(seen.events).toEqual([expect.objectContaining({ event: "compute__do_build_and_run_instance", result: "Success" })]);
    expect((await nova("GET", `/servers/${id}/os-instance-actions/req-nope`, bob)).statusCode).toBe(404);
    expect((await nova("GET", `/servers/${id}/os-instance-actions`, bob, undefined, "2.58")).json().instanceActions[0].updated_at).toBeTruthy();
    await g.store.remove("server", id); // the owner removed it
    await new Promise((r) => setTimeout(r, 10));
    expect(g.store.list("instance_action", (r) => r.server_id === id)).toEqual([]);
  });

  it("os-security-groups (before 2.36): the project's Neutron groups in Nova's shape, as the CLI looks them up before addSecurityGroup", async () => {
    const id = (await boot(bob)).json().server.id;
    const groups = (await nova("GET", "/os-security-groups", bob)).json().security_groups;
    const def = groups.find((x: { name: string }) => x.name === "default");
    expect(def).toMatchObject({ name: "default", description: "Default security group" });
    expect(def.rules.length).toBeGreaterThan(0); // the ingress rules (from the group itself)
    expect((await nova("GET", `/os-security-groups/${def.id}`, bob)).json().security_group.id).toBe(def.id);
    expect((await nova("GET", "/os-security-groups/nope", bob)).statusCode).toBe(404);
    expect((await nova("GET", "/os-security-groups", bob, undefined, "2.36")).statusCode).toBe(404);
    expect((await nova("POST", `/servers/${id}/action`, bob, { addSecurityGroup: { name: def.id } })).statusCode).toBe(202);
  });

  it("server groups (policies at 2.1, policy+rules at 2.64), members via scheduler hint, quota, delete", async () => {
    const g1 = await nova("POST", "/os-server-groups", bob, { server_group: { name: "web", policies: ["anti-affinity"] } });
    expect(g1.json().server_group).toMatchObject({ name: "web", policies: ["anti-affinity"], members: [], metadata: {} });
    const gid = g1.json().server_group.id;
    const g2 = await nova("POST", "/os-server-groups", bob, { server_group: { name: "db", policy: "anti-affinity", rules: { max_server_per_host: 2 } } }, "2.64");
    expect(g2.json().server_group).toMatchObject({ policy: "anti-affinity", rules: { max_server_per_host: 2 } });
    expect((await nova("POST", "/os-server-groups", bob, { server_group: { name: "x", policies: ["weird"] } })).statusCode).toBe(400);
    const sid = (await nova("POST", "/servers", bob, { server: { name: "m", flavorRef: "1", imageRef: "img1", networks: "none" }, "os:scheduler_hints": { group: gid } })).json().server.id;
    expect(fake.calls.at(-1)!.group).toEqual({ id: gid, policy: "anti-affinity" });
    expect((await nova("GET", `/os-server-groups/${gid}`, bob)).json().server_group.members).toEqual([sid]);
    expect((await nova("GET", "/os-server-groups", bob)).json().server_groups).toHaveLength(2);
    expect((await nova("GET", `/os-server-groups/${gid}`, eve)).statusCode).toBe(404);
    expect((await nova("DELETE", `/os-server-groups/${gid}`, bob)).statusCode).toBe(204);
    expect((await nova("GET", `/os-server-groups/${gid}`, bob)).statusCode).toBe(404);
  });

  it("hypervisors (admin) from node records, quota sets show/detail/defaults, volume attachments", async () => {
    const id = (await boot(bob)).json().server.id;
    await new Promise((r) => setImmediate(r));
    expect((await nova("GET", "/os-hypervisors", bob)).statusCode).toBe(403);
    const hv = (await nova("GET", "/os-hypervisors/detail", admin)).json().hypervisors;
    expect(hv).toHaveLength(1);
    expect(hv[0]).toMatchObject({ hypervisor_hostname: `host-${g.nodeKey.id.slice(-6)}`, state: "up", status: "enabled", vcpus_used: 1, memory_mb_used: 512, running_vms: 1, hypervisor_type: "QEMU" });
    expect((await nova("GET", `/os-hypervisors/${hv[0].id}`, admin)).json().hypervisor.running_vms).toBe(1);
    // Before 2.53 clients find a hypervisor by name through /search (openstack hypervisor show <name>).
    const name = String(hv[0].hypervisor_hostname);
    expect((await nova("GET", `/os-hypervisors/${name.slice(2)}/search`, admin)).json().hypervisors).toEqual([{ id: hv[0].id, hypervisor_hostname: name, state: "up", status: "enabled" }]);
    expect((await nova("GET", `/os-hypervisors/${name}/search`, bob)).statusCode).toBe(403);
    expect((await nova("GET", "/os-hypervisors/nothing-like-it/search", admin)).json()).toEqual({ itemNotFound: { code: 404, message: "No hypervisor matching 'nothing-like-it' could be found." } });
    expect((await nova("GET", `/os-hypervisors/${name}/search`, admin, undefined, "2.53")).statusCode).toBe(404); // replaced by ?hypervisor_hostname_pattern
    // What `openstack hypervisor show` asks next: the aggregates (AZs other than "nova") and the uptime (501, as Nova for drivers without it).
    expect((await nova("GET", `/os-hypervisors/${hv[0].id}/uptime`, admin)).json()).toEqual({ notImplemented: { code: 501, message: "Hypervisor uptime is not implemented by peerstack" } });
    expect((await nova("GET", "/os-hypervisors/nope/uptime", admin)).statusCode).toBe(404);
    expect((await nova("GET", "/os-aggregates", admin)).json()).toEqual({ aggregates: [] });
    await g.store.put("node", "edge-a", { name: "edge-a1", az: "edge-a" });
    await g.store.put("node", "edge-b", { name: "edge-a2", az: "edge-a" });
    const aggs = (await nova("GET", "/os-aggregates", admin, undefined, "2.41")).json().aggregates;
    expect(aggs).toEqual([expect.objectContaining({ name: "edge-a", availability_zone: "edge-a", hosts: ["edge-a1", "edge-a2"], metadata: { availability_zone: "edge-a" }, uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) })]);
    expect((await nova("GET", `/os-aggregates/${aggs[0].id}`, admin)).json().aggregate).toMatchObject({ name: "edge-a", hosts: ["edge-a1", "edge-a2"] });
    expect((await nova("GET", "/os-aggregates/12345", admin)).statusCode).toBe(404);
    expect((await nova("GET", "/os-aggregates", bob)).statusCode).toBe(403);
    for (const id of ["edge-a", "edge-b"]) await g.store.remove("node", id);

    // os-services: one nova-compute per host; disabling writes the record the host's agent acts on.
    const svc = (await nova("GET", "/os-services", admin)).json().services;
    expect(svc).toEqual([{ id: hv[0].id, binary: "nova-compute", host: name, zone: "nova", status: "enabled", state: "up", updated_at: null, disabled_reason: null }]);
    expect((await nova("GET", "/os-services?binary=nova-scheduler", admin)).json().services).toEqual([]);
    expect((await nova("GET", "/os-services", bob)).statusCode).toBe(403);
    const off = await nova("PUT", "/os-services/disable-log-reason", admin, { host: name, binary: "nova-compute", disabled_reason: "maintenance" });
    expect(off.json()).toEqual({ service: { host: name, binary: "nova-compute", status: "disabled", disabled_reason: "maintenance" } });
    expect(g.store.get("compute_service", g.nodeKey.id)).toMatchObject({ disabled: true, disabled_reason: "maintenance" });
    expect((await nova("GET", "/os-hypervisors", admin)).json().hypervisors[0].status).toBe("disabled");
    expect((await nova("PUT", "/os-services/enable", admin, { host: "nowhere", binary: "nova-compute" })).json().itemNotFound.message).toBe("Host 'nowhere' is not found.");
    expect((await nova("PUT", "/os-services/enable", admin, { host: name, binary: "nova-compute" })).json().service.status).toBe("enabled");
    // 2.53+: by id, the whole service back.
    const up = await nova("PUT", `/os-services/${g.nodeKey.id}`, admin, { status: "disabled", disabled_reason: "disk swap" }, "2.53");
    expect(up.json().service).toMatchObject({ id: g.nodeKey.id, host: name, status: "disabled", disabled_reason: "disk swap", forced_down: false });
    expect((await nova("PUT", `/os-services/${g.nodeKey.id}`, admin, { status: "enabled", disabled_reason: "x" }, "2.53")).statusCode).toBe(400);
    expect((await nova("PUT", `/os-services/${g.nodeKey.id}`, admin, { forced_down: true }, "2.53")).statusCode).toBe(400);
    expect((await nova("PUT", "/os-services/no-such-id", admin, { status: "enabled" }, "2.53")).statusCode).toBe(404);
    expect((await nova("PUT", "/os-services/disable", admin, { host: name, binary: "nova-compute" }, "2.53")).statusCode).toBe(404); // legacy form gone at 2.53
    expect((await nova("PUT", `/os-services/${g.nodeKey.id}`, admin, { status: "enabled" }, "2.53")).json().service).toMatchObject({ status: "enabled", disabled_reason: null });
    for (const name of ["quiet", "loud", "never"]) await g.store.put("node", name, { name });
    const states = Object.fromEntries(((await nova("GET", "/os-hypervisors", admin)).json().hypervisors as Array<{ hypervisor_hostname: string; state: string }>).map((h) => [h.hypervisor_hostname, h.state]));
    expect(states).toMatchObject({ quiet: "down", loud: "up", never: "down" }); // this node is up without adverts of its own
    for (const name of ["quiet", "loud", "never"]) await g.store.remove("node", name);
    expect((await nova("GET", "/os-hypervisors/statistics", admin)).json().hypervisor_statistics).toMatchObject({ count: 1, running_vms: 1, vcpus_used: 1 });
    const project = String(g.store.get("server", id)!.project_id);
    const q = (await nova("GET", `/os-quota-sets/${project}`, bob)).json().quota_set;
    expect(q).toMatchObject({ id: project, instances: 10, cores: 20, ram: 51200, key_pairs: 100 });
    const d = (await nova("GET", `/os-quota-sets/${project}/detail`, bob)).json().quota_set;
    expect(d.instances).toEqual({ in_use: 1, limit: 10, reserved: 0 });
    expect((await nova("GET", `/os-quota-sets/${project}`, eve)).statusCode).toBe(403);
    expect((await nova("PUT", `/os-quota-sets/${project}`, bob, { quota_set: { instances: 5 } })).statusCode).toBe(403);
    expect((await nova("PUT", `/os-quota-sets/${project}`, admin, { quota_set: { instances: 0 } })).statusCode).toBe(400);
    expect((await nova("GET", `/os-quota-sets/${project}/defaults`, bob)).json().quota_set.instances).toBe(10);
    await g.store.put("server", id, { status: "ACTIVE", vm_state: "active" });
    expect((await nova("POST", `/servers/${id}/os-volume_attachments`, bob, { volumeAttachment: { volumeId: "vol-1" } })).statusCode).toBe(404); // no such volume yet
    await g.store.put("volume", "vol-1", { project_id: project, size: 1, status: "available", host: g.nodeKey.id });
    const att = await nova("POST", `/servers/${id}/os-volume_attachments`, bob, { volumeAttachment: { volumeId: "vol-1" } });
    expect(att.json().volumeAttachment).toEqual({ id: "vol-1", volumeId: "vol-1", serverId: id, device: "/dev/vdb" });
    expect((await nova("POST", `/servers/${id}/os-volume_attachments`, bob, { volumeAttachment: { volumeId: "vol-1" } })).statusCode).toBe(409);
    expect((await nova("GET", `/servers/${id}`, bob)).json().server["os-extended-volumes:volumes_attached"]).toEqual([{ id: "vol-1" }]);
    expect((await nova("DELETE", `/servers/${id}/os-volume_attachments/vol-1`, bob)).statusCode).toBe(202);
    expect((await nova("GET", `/servers/${id}/os-volume_attachments`, bob)).json().volumeAttachments).toEqual([]);
  });
  it("server metadata: set/merge/replace/show/delete items, kept beside the owner's hostname and keys, isolation", async () => {
    const id = (await boot(bob, { metadata: { a: "1" } })).json().server.id;
    const md = (url: string, method: "GET" | "POST" | "PUT" | "DELETE" = "GET", body?: object, token = bob) => nova(method, `/servers/${id}/metadata${url}`, token, body);
    expect((await md("", "POST", { metadata: { b: "2" } })).json().metadata).toEqual({ a: "1", b: "2" });
    expect((await md("/b")).json().meta).toEqual({ b: "2" });
    expect((await md("/c", "PUT", { meta: { c: "3" } })).json().meta).toEqual({ c: "3" });
    expect((await md("/c", "PUT", { meta: { d: "3" } })).statusCode).toBe(400);
    expect((await md("/a", "DELETE")).statusCode).toBe(204);
    expect((await md("/a")).statusCode).toBe(404);
    expect((await nova("GET", `/servers/${id}`, bob)).json().server.metadata).toEqual({ b: "2", c: "3" });
    expect((g.store.get("server", id)!.metadata as { hostname: string }).hostname).toBe("vm");
    expect((await md("", "PUT", { metadata: { z: "9" } })).json().metadata).toEqual({ z: "9" });
    expect((await md("", "GET", undefined, eve)).statusCode).toBe(404);
    expect((await md("", "POST", { metadata: { x: 1 } })).statusCode).toBe(400);
  });
});
