// Small in-memory drivers for the reconciler's unit tests (the real ones are tested in drivers/ and test/).
import { ServerNotFoundError, type ComputeDriver, type ServerSpec, type ServerStatus } from "../../drivers/compute/interface.ts";
import type { NetworkDriver, NetworkState, PortState } from "../../drivers/network/interface.ts";
import type { StorageDriver, VolumeInfo } from "../../drivers/storage/interface.ts";

export class FakeCompute implements ComputeDriver {
  readonly name = "fake";
  readonly vms = new Map<string, { spec: ServerSpec; state: ServerStatus["state"] }>();
  readonly calls: string[] = [];
  fail: Partial<Record<"create" | "stop" | "reboot" | "delete", Error>> = {};

  private st(id: string): ServerStatus {
    const vm = this.vms.get(id);
    if (!vm) throw new ServerNotFoundError(id, "status");
    return { id, state: vm.state, ...(vm.state === "running" ? { pid: 1000 } : {}) };
  }
  private check(op: "create" | "stop" | "reboot" | "delete", id: string): void {
    this.calls.push(`${op} ${id}`);
    if (this.fail[op]) throw this.fail[op];
  }
  async create(spec: ServerSpec) {
    this.check("create", spec.id);
    this.vms.set(spec.id, { spec, state: "running" });
    return this.st(spec.id);
  }
  async start(id: string) {
    this.st(id);
    this.vms.get(id)!.state = "running";
    return this.st(id);
  }
  async stop(id: string) {
    this.check("stop", id);
    this.st(id);
    this.vms.get(id)!.state = "stopped";
    return this.st(id);
  }
  async reboot(id: string, kind: "soft" | "hard") {
    this.check("reboot", id);
    this.calls.push(`reboot-${kind} ${id}`);
    this.vms.get(id)!.state = "running";
    return this.st(id);
  }
  async delete(id: string) {
    this.check("delete", id);
    this.vms.delete(id);
  }
  async status(id: string) {
    return this.st(id);
  }
  async consoleLog() {
    return "";
  }
  async list() {
    return [...this.vms.keys()].map((id) => this.st(id));
  }
  async adopt() {
    return (await this.list()).filter((s) => s.state === "running");
  }
}

export class FakeStorage implements StorageDriver {
  readonly name = "fake";
  readonly format = "qcow2" as const;
  readonly items = new Map<string, VolumeInfo>();
  fail: Partial<Record<"createVolume" | "importImage" | "delete", Error>> = {};
  async init() {}
  async createVolume(id: string, sizeGiB: number, opts?: { fromImage?: string }) {
    if (this.fail.createVolume) throw this.fail.createVolume;
    if (opts?.fromImage && !this.items.has(`image/${opts.fromImage}`)) throw new Error(`image "${opts.fromImage}" not imported`);
    const v: VolumeInfo = { id, kind: "volume", sizeBytes: sizeGiB * 2 ** 30, path: this.path(id), ...(opts?.fromImage ? { origin: { kind: "image" as const, id: opts.fromImage } } : {}) };
    this.items.set(`volume/${id}`, v);
    return v;
  }
  async importImage(imageId: string, sourcePath: string) {
    if (this.fail.importImage) throw this.fail.importImage;
    const v: VolumeInfo = { id: imageId, kind: "image", sizeBytes: 1, path: sourcePath };
    this.items.set(`image/${imageId}`, v);
    return v;
  }
  async resize(): Promise<VolumeInfo> {
    throw new Error("not in the fake");
  }
  async snapshot(): Promise<VolumeInfo> {
    throw new Error("not in the fake");
  }
  async cloneFromSnapshot(): Promise<VolumeInfo> {
    throw new Error("not in the fake");
  }
  async delete(id: string) {
    if (this.fail.delete) throw this.fail.delete;
    this.items.delete(`volume/${id}`);
  }
  async deleteImage(id: string) {
    this.items.delete(`image/${id}`);
  }
  async deleteSnapshot() {}
  path(id: string) {
    return `/fake/volumes/${id}.qcow2`;
  }
  async list() {
    return [...this.items.values()];
  }
  async usage() {
    return { capacityBytes: 0, usedBytes: 0, provisionedBytes: 0 };
  }
}

export class FakeNetwork implements NetworkDriver {
  readonly nets = new Map<string, NetworkState>();
  readonly ports = new Map<string, PortState>();
  readonly fdb = new Map<string, string[]>();
  readonly remote = new Map<string, { mac: string; vtep: string; ip?: string }[]>();
  readonly dhcp = new Map<string, { serverIp: string; leases: { mac: string; ip: string }[] }>();
  async ensureNetwork(s: { networkId: string; vni: number; mtu?: number }) {
    const n = { networkId: s.networkId, vni: s.vni, bridge: `psbr-${s.vni}`, vxlan: `psvx-${s.vni}`, mtu: s.mtu ?? 1450 };
    this.nets.set(s.networkId, n);
    return n;
  }
  async deleteNetwork(id: string) {
    this.nets.delete(id);
  }
  async ensurePort(s: { portId: string; networkId: string; mac: string; tapName: string }) {
    const n = this.nets.get(s.networkId);
    if (!n) throw new Error(`network "${s.networkId}" missing`);
    const p = { portId: s.portId, networkId: s.networkId, tapName: s.tapName, mac: s.mac, bridge: n.bridge, mtu: n.mtu };
    this.ports.set(s.portId, p);
    return p;
  }
  async deletePort(id: string) {
    this.ports.delete(id);
  }
  async syncFdb(networkId: string, vteps: string[]) {
    this.fdb.set(networkId, vteps);
    return { added: [], removed: [] };
  }
  async syncRemotePorts(networkId: string, ports: { mac: string; vtep: string; ip?: string }[]) {
    this.remote.set(networkId, ports);
    return { added: [], removed: [] };
  }
  async ensureDhcp(s: { networkId: string; serverIp: string; leases: { mac: string; ip: string }[] }) {
    this.dhcp.set(s.networkId, { serverIp: s.serverIp, leases: s.leases });
  }
  async stopDhcp(id: string) {
    this.dhcp.delete(id);
  }
  async listNetworks() {
    return [...this.nets.values()];
  }
  async listPorts() {
    return [...this.ports.values()];
  }
  async teardown() {
    this.nets.clear();
    this.ports.clear();
  }
}
