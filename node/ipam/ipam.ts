// IP address management without a coordinator: per-node escrowed address blocks (DESIGN.md
// "Uniqueness that CRDTs cannot give for free is designed").
//
// A subnet's CIDR is cut into blocks of BLOCK_SIZE addresses (block i = offsets [16i, 16i+16)).
// Every block has exactly one owner at any time, and only the owner writes address records in it:
// - initially every block belongs to the subnet's home node (`ipam_home`, the node that created it);
// - a block changes hands only by its current owner writing "ipblock" {owner: <grantee>, epoch+1}
//   (a grant, asked for over the direct transport) — and only when it holds no live address in it.
// So the writers of a block form a causal chain (each got the block from the delta of the previous
// write), their HLC stamps increase along it, and LWW keeps the last grant everywhere.
// Why no address is ever handed out twice: an address record "ipalloc" <subnet>/<ip>/<port> is only
// written by the owner of the address's block, under a per-subnet lock, after checking its own view.
// The owner's view holds every live address of its block: its own writes (local, durable before any
// answer), and none from previous owners, because a block is granted only when empty in the granter's
// view, which was complete by the same argument. Releases may come from any node (a tombstone);
// seeing a release late only keeps an address busy longer. Partitions change nothing: a node that
// cannot reach an owner cannot get its blocks, it never takes them (escrow, like quota rights).
import { PeerstackError } from "../../protocol/errors.ts";
import type { CatalogRecord, CrdtStore, RecordDelta } from "../store/crdt-store.ts";
import type { DirectTransport } from "../mesh/transport.ts";
import { contains, formatIp, inPools, isHost, parseCidr, parseIp, type Cidr, type Pool } from "./cidr.ts";

export const IPBLOCK = "ipblock";
export const IPALLOC = "ipalloc";
export const IPAM_PROTOCOL = "/peerstack/ipam/1";
export const BLOCK_SIZE = 16;

/** The subnet fields IPAM reads (the catalog's "subnet" record). */
export interface IpamSubnet {
  id: string;
  cidr: string;
  gateway_ip?: string | null;
  allocation_pools: Pool[];
  /** Node that created the subnet: owner of every block not granted away. */
  ipam_home: string;
  /** Address kept for the DHCP server (not handed out). */
  dhcp_ip?: string | null;
}

export type IpamStore = Pick<CrdtStore, "put" | "remove" | "get" | "list"> & Partial<Pick<CrdtStore, "applyRemote">>;

export interface IpamComponents {
  store: IpamStore;
  /** This node's id (the owner name written into blocks). */
  node: string;
  /** Without a transport the node uses only the blocks it owns. */
  transport?: DirectTransport;
  requestTimeoutMs?: number;
}

export class IpAddressInUseError extends PeerstackError {
  constructor(ip: string, subnetId: string) {
    super("IP_IN_USE", `Unable to complete operation for network. The IP address ${ip} is in use (subnet ${subnetId}).`);
  }
}

export class InvalidIpForSubnetError extends PeerstackError {
  constructor(ip: string, subnetId: string, why: string) {
    super("INVALID_IP_FOR_SUBNET", `IP address ${ip} is not a valid IP for the specified subnet ${subnetId}: ${why}.`);
  }
}

export class IpExhaustedError extends PeerstackError {
  constructor(subnetId: string, why: string) {
    super("IP_EXHAUSTED", `No more IP addresses available on subnet ${subnetId} (${why}).`);
  }
}

export class IpamUnreachableError extends PeerstackError {
  constructor(subnetId: string, ip: string, owner: string) {
    super("IPAM_UNREACHABLE", `allocating ${ip} on subnet ${subnetId}: its block's owner "${owner}" cannot be reached`);
  }
}

/** `have`: the blocks the asker owns in its view, so the owner can answer a repeated ask idempotently. */
type Request = { op: "grant"; subnet: string; have?: string[] } | { op: "allocate"; subnet: string; port: string; ip?: string } | { op: "release"; subnet: string; port: string; ip: string };
type Answer = { ok: true; ip?: string; deltas: RecordDelta[] } | { ok: false; code: string; message: string };

export const allocId = (subnetId: string, ip: string, portId: string) => `${subnetId}/${ip}/${portId}`;
export const blockId = (subnetId: string, index: number) => `${subnetId}/${index}`;

interface Layout {
  cidr: Cidr;
  pools: Pool[];
  reserved: Set<number>;
  blocks: number;
}

export class Ipam {
  private readonly c: IpamComponents;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(c: IpamComponents) {
    this.c = c;
  }

  start(): void {
    this.c.transport?.handle(IPAM_PROTOCOL, (from, data) => this.serve(from, data));
  }

  stop(): void {}

  get node(): string {
    return this.c.node;
  }

  /**
   * An address for `portId`: `ip` if given (validated: inside the subnet, a host address, not the
   * gateway or DHCP address, free), else the first free pool address of a block this node owns —
   * getting a block from its owner, or the address from an owner, when it has none free.
   */
  async allocate(subnet: IpamSubnet, portId: string, ip?: string): Promise<string> {
    const lay = layout(subnet);
    if (ip !== undefined) {
      const n = this.checkFixed(subnet, lay, ip);
      const owner = this.ownerOf(subnet, blockOf(lay, n));
      if (owner === this.c.node) return this.locked(subnet.id, () => this.writeFixed(subnet, lay, n, portId));
      return this.remoteAllocate(subnet, owner, portId, formatIp(n));
    }
    const local = await this.locked(subnet.id, () => this.writeNext(subnet, lay, portId));
    if (local) return local;
    for (const peer of this.candidates(subnet, lay)) {
      if (await this.askGrant(subnet, peer)) {
        const got = await this.locked(subnet.id, () => this.writeNext(subnet, lay, portId));
        if (got) return got;
      }
    }
    for (const peer of this.candidates(subnet, lay)) {
      try {
        return await this.remoteAllocate(subnet, peer, portId);
      } catch (err) {
        if (!(err instanceof IpExhaustedError || err instanceof IpamUnreachableError)) throw err;
      }
    }
    throw new IpExhaustedError(subnet.id, this.c.transport ? "no free address in reachable blocks" : "no free address in this node's blocks");
  }

  /**
   * Frees `ip` held by `portId`. Any node may release an address record it has seen (its tombstone is
   * then stamped above the record's write); one it has not seen yet is released by the block's owner.
   * False when neither could (the address stays busy: a leak, never a duplicate).
   */
  async release(subnet: IpamSubnet, ip: string, portId: string): Promise<boolean> {
    const id = allocId(subnet.id, ip, portId);
    if (this.c.store.get(IPALLOC, id)) {
      await this.c.store.remove(IPALLOC, id);
      return true;
    }
    const n = parseIp(ip);
    if (n === undefined || !contains(layout(subnet).cidr, n)) return false;
    const owner = this.ownerOf(subnet, blockOf(layout(subnet), n));
    if (owner === this.c.node) return false; // the owner has not seen it: it was never allocated
    const a = await this.ask(owner, { op: "release", subnet: subnet.id, ip, port: portId });
    if (!a?.ok) return false;
    await this.adopt(a.deltas);
    return true;
  }

  /** Live address records of a subnet, as this node sees them. */
  allocations(subnetId: string): CatalogRecord[] {
    return this.c.store.list(IPALLOC, (r) => r.subnet === subnetId);
  }

  isAllocated(subnetId: string, ip: string): boolean {
    return this.allocations(subnetId).some((r) => r.ip === ip);
  }

  /** Drops a deleted subnet's block and address records. */
  async forget(subnetId: string): Promise<void> {
    for (const r of this.c.store.list(IPBLOCK, (x) => x.subnet === subnetId)) await this.c.store.remove(IPBLOCK, r.id);
    for (const r of this.allocations(subnetId)) await this.c.store.remove(IPALLOC, r.id);
  }

  /** Whether this node owns at least `n` free pool addresses of the subnet (in its own view). */
  hasFree(subnet: IpamSubnet, n: number): boolean {
    const lay = layout(subnet);
    const used = this.used(subnet.id);
    let free = 0;
    for (let b = 0; b < lay.blocks && free < n; b++) if (this.ownerOf(subnet, b) === this.c.node) free += countFree(lay, b, used, n - free);
    return free >= n;
  }

  /**
   * Asks reachable owners (home first) for one more block, ahead of need (node/ipam/prefetch.ts):
   * "granted" once this node owns a block it did not own before, "refused" when reachable owners had
   * none to give, "unreachable" when no owner could be asked (partitioned: nothing is taken).
   */
  async prefetch(subnet: IpamSubnet): Promise<"granted" | "refused" | "unreachable"> {
    const peers = this.candidates(subnet, layout(subnet));
    if (peers.length === 0) return "unreachable";
    let answered = false;
    for (const peer of peers) {
      const before = this.ownedBlocks(subnet.id).length;
      const a = await this.askGrant(subnet, peer);
      if (a !== undefined) answered = true;
      if (a && this.ownedBlocks(subnet.id).length > before) return "granted";
    }
    return answered ? "refused" : "unreachable";
  }

  ownerOf(subnet: IpamSubnet, index: number): string {
    const b = this.c.store.get(IPBLOCK, blockId(subnet.id, index));
    return typeof b?.owner === "string" ? b.owner : subnet.ipam_home;
  }

  // ---- local steps (called under the subnet's lock) ----

  private used(subnetId: string): Set<number> {
    return new Set(this.allocations(subnetId).map((r) => parseIp(r.ip) ?? -1));
  }

  private checkFixed(subnet: IpamSubnet, lay: Layout, ip: string): number {
    const n = parseIp(ip);
    if (n === undefined) throw new InvalidIpForSubnetError(ip, subnet.id, "not an IPv4 address");
    if (!contains(lay.cidr, n)) throw new InvalidIpForSubnetError(ip, subnet.id, `outside ${subnet.cidr}`);
    if (!isHost(lay.cidr, n)) throw new InvalidIpForSubnetError(ip, subnet.id, "the network or broadcast address");
    if (lay.reserved.has(n)) throw new IpAddressInUseError(ip, subnet.id);
    return n;
  }

  private async writeFixed(subnet: IpamSubnet, lay: Layout, n: number, portId: string): Promise<string> {
    const ip = formatIp(n);
    if (this.ownerOf(subnet, blockOf(lay, n)) !== this.c.node) throw new IpamUnreachableError(subnet.id, ip, this.ownerOf(subnet, blockOf(lay, n)));
    if (this.used(subnet.id).has(n)) throw new IpAddressInUseError(ip, subnet.id);
    await this.record(subnet, lay, n, portId);
    return ip;
  }

  private async writeNext(subnet: IpamSubnet, lay: Layout, portId: string): Promise<string | undefined> {
    const used = this.used(subnet.id);
    for (let b = 0; b < lay.blocks; b++) {
      if (this.ownerOf(subnet, b) !== this.c.node) continue;
      const n = freeIn(lay, b, used);
      if (n !== undefined) {
        await this.record(subnet, lay, n, portId);
        return formatIp(n);
      }
    }
    return undefined;
  }

  private async record(subnet: IpamSubnet, lay: Layout, n: number, portId: string): Promise<RecordDelta> {
    const ip = formatIp(n);
    return this.c.store.put(IPALLOC, allocId(subnet.id, ip, portId), { subnet: subnet.id, ip, port_id: portId, block: blockOf(lay, n), node: this.c.node });
  }

  private ownedBlocks(subnetId: string, owner = this.c.node): CatalogRecord[] {
    return this.c.store.list(IPBLOCK, (r) => r.subnet === subnetId && r.owner === owner);
  }

  /**
   * Answers a grant ask. Idempotent: when `to` owns a block here that is not in its `have` (a grant
   * whose answer it lost, or a concurrent ask), that block is sent again instead of a new one.
   */
  private async grantOnce(subnet: IpamSubnet, to: string, have: string[] | undefined): Promise<RecordDelta[]> {
    if (Array.isArray(have)) {
      const known = new Set(have);
      const unseen = this.ownedBlocks(subnet.id, to).filter((r) => !known.has(r.id));
      const states = unseen.map((r) => (this.c.store as Partial<Pick<CrdtStore, "stateOf">>).stateOf?.(IPBLOCK, r.id));
      if (unseen.length > 0) return states.filter((x): x is RecordDelta => x !== undefined);
    }
    const delta = await this.grant(subnet, to);
    return delta ? [delta] : [];
  }

  /** Grants the highest block this node owns that holds no live address and has pool space. */
  private async grant(subnet: IpamSubnet, to: string): Promise<RecordDelta | undefined> {
    const lay = layout(subnet);
    const used = this.used(subnet.id);
    const busy = new Set([...used].map((n) => blockOf(lay, n)));
    const mine: number[] = [];
    for (let b = 0; b < lay.blocks; b++) if (this.ownerOf(subnet, b) === this.c.node) mine.push(b);
    // Keep one block for ourselves: grant only when we own another one with free space.
    const withSpace = mine.filter((b) => freeIn(lay, b, used) !== undefined);
    const candidate = withSpace.reverse().find((b) => !busy.has(b));
    if (candidate === undefined || withSpace.length < 2) return undefined;
    const prev = this.c.store.get(IPBLOCK, blockId(subnet.id, candidate));
    const first = lay.cidr.base + candidate * BLOCK_SIZE;
    const last = Math.min(first + BLOCK_SIZE, lay.cidr.base + lay.cidr.size) - 1;
    return this.c.store.put(IPBLOCK, blockId(subnet.id, candidate), {
      subnet: subnet.id,
      index: candidate,
      range: `${formatIp(first)}-${formatIp(last)}`,
      owner: to,
      epoch: (typeof prev?.epoch === "number" ? prev.epoch : 0) + 1,
    });
  }

  // ---- remote ----

  /** Owners (in this node's view) of blocks with pool space: the home first, then by block order. */
  private candidates(subnet: IpamSubnet, lay: Layout): string[] {
    const t = this.c.transport;
    if (!t) return [];
    const reachable = new Set(t.peers());
    const owners = [subnet.ipam_home];
    for (let b = 0; b < lay.blocks; b++) owners.push(this.ownerOf(subnet, b));
    return [...new Set(owners)].filter((o) => o !== this.c.node && reachable.has(o));
  }

  private async ask(peer: string, req: Request): Promise<Answer | undefined> {
    const t = this.c.transport;
    if (!t || !t.peers().includes(peer)) return undefined;
    try {
      const raw = await t.request(peer, IPAM_PROTOCOL, new TextEncoder().encode(JSON.stringify(req)), { timeoutMs: this.c.requestTimeoutMs ?? 5000 });
      return JSON.parse(new TextDecoder().decode(raw)) as Answer;
    } catch {
      return undefined;
    }
  }

  private async adopt(deltas: RecordDelta[]): Promise<void> {
    if (deltas.length > 0 && this.c.store.applyRemote) await this.c.store.applyRemote(deltas);
  }

  /** True when the peer sent a block (now in our store), false when it had none, undefined: no answer. */
  private async askGrant(subnet: IpamSubnet, peer: string): Promise<boolean | undefined> {
    const a = await this.ask(peer, { op: "grant", subnet: subnet.id, have: this.ownedBlocks(subnet.id).map((r) => r.id) });
    if (!a) return undefined;
    if (!a.ok || a.deltas.length === 0) return false;
    // Use a block only once the grant is in our own store (the delta also reaches others by gossip).
    await this.adopt(a.deltas);
    return true;
  }

  private async remoteAllocate(subnet: IpamSubnet, owner: string, portId: string, ip?: string): Promise<string> {
    const a = await this.ask(owner, { op: "allocate", subnet: subnet.id, port: portId, ip });
    if (!a) throw new IpamUnreachableError(subnet.id, ip ?? "an address", owner);
    if (!a.ok) {
      if (a.code === "IP_IN_USE") throw new IpAddressInUseError(ip ?? "?", subnet.id);
      if (a.code === "INVALID_IP_FOR_SUBNET") throw new InvalidIpForSubnetError(ip ?? "?", subnet.id, a.message);
      if (a.code === "IP_EXHAUSTED") throw new IpExhaustedError(subnet.id, `at ${owner}`);
      throw new IpamUnreachableError(subnet.id, ip ?? "an address", owner);
    }
    await this.adopt(a.deltas);
    return String(a.ip);
  }

  private async serve(from: string, data: Uint8Array): Promise<Uint8Array> {
    const answer = await this.answer(from, JSON.parse(new TextDecoder().decode(data)) as Request).catch(
      (err: unknown): Answer => ({ ok: false, code: err instanceof PeerstackError ? err.code : "IPAM_FAILED", message: err instanceof Error ? err.message : String(err) }),
    );
    return new TextEncoder().encode(JSON.stringify(answer));
  }

  private async answer(from: string, req: Request): Promise<Answer> {
    const subnet = this.c.store.get("subnet", req.subnet) as unknown as IpamSubnet | undefined;
    if (!subnet) return { ok: false, code: "UNKNOWN_SUBNET", message: `subnet ${req.subnet} is not known here yet` };
    const lay = layout(subnet);
    if (req.op === "grant") {
      return { ok: true, deltas: await this.locked(subnet.id, () => this.grantOnce(subnet, from, req.have)) };
    }
    if (req.op === "allocate" && typeof req.port === "string") {
      if (req.ip !== undefined) {
        const n = this.checkFixed(subnet, lay, req.ip);
        const ip = await this.locked(subnet.id, () => this.writeFixed(subnet, lay, n, req.port));
        return { ok: true, ip, deltas: this.deltasOf(subnet.id, ip, req.port) };
      }
      const ip = await this.locked(subnet.id, () => this.writeNext(subnet, lay, req.port));
      if (!ip) return { ok: false, code: "IP_EXHAUSTED", message: "no free address here" };
      return { ok: true, ip, deltas: this.deltasOf(subnet.id, ip, req.port) };
    }
    if (req.op === "release" && typeof req.port === "string" && typeof req.ip === "string") {
      const id = allocId(subnet.id, req.ip, req.port);
      if (!this.c.store.get(IPALLOC, id)) return { ok: false, code: "NOT_ALLOCATED", message: `${req.ip} is not allocated to ${req.port} here` };
      return { ok: true, deltas: [await this.c.store.remove(IPALLOC, id)] };
    }
    return { ok: false, code: "BAD_REQUEST", message: "unknown ipam request" };
  }

  private deltasOf(subnetId: string, ip: string, portId: string): RecordDelta[] {
    const s = (this.c.store as Partial<Pick<CrdtStore, "stateOf">>).stateOf?.(IPALLOC, allocId(subnetId, ip, portId));
    return s ? [s] : [];
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

export function ipam(c: IpamComponents): Ipam {
  return new Ipam(c);
}

function layout(subnet: IpamSubnet): Layout {
  const cidr = parseCidr(subnet.cidr);
  const reserved = new Set<number>();
  for (const r of [subnet.gateway_ip, subnet.dhcp_ip]) {
    const n = parseIp(r);
    if (n !== undefined) reserved.add(n);
  }
  return { cidr, pools: subnet.allocation_pools ?? [], reserved, blocks: Math.ceil(cidr.size / BLOCK_SIZE) };
}

function blockOf(lay: Layout, n: number): number {
  return Math.floor((n - lay.cidr.base) / BLOCK_SIZE);
}

function countFree(lay: Layout, b: number, used: Set<number>, max: number): number {
  const first = lay.cidr.base + b * BLOCK_SIZE;
  const end = Math.min(first + BLOCK_SIZE, lay.cidr.base + lay.cidr.size);
  let k = 0;
  for (let n = first; n < end && k < max; n++) if (isHost(lay.cidr, n) && !lay.reserved.has(n) && !used.has(n) && inPools(lay.pools, n)) k++;
  return k;
}

function freeIn(lay: Layout, b: number, used: Set<number>): number | undefined {
  const first = lay.cidr.base + b * BLOCK_SIZE;
  const end = Math.min(first + BLOCK_SIZE, lay.cidr.base + lay.cidr.size);
  for (let n = first; n < end; n++) {
    if (isHost(lay.cidr, n) && !lay.reserved.has(n) && !used.has(n) && inPools(lay.pools, n)) return n;
  }
  return undefined;
}
