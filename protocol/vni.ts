// VXLAN VNIs without a coordinator: a network's VNI is derived from its id, and collisions are
// resolved by a deterministic rule over the replicated (networkId, vni) pairs, so every node that
// sees the same set computes the same assignment (DESIGN.md "Uniqueness that CRDTs cannot give").
//
// Each network has a fixed probe sequence of candidate VNIs (hashes of its id, then a linear scan).
// - allocateVni: the first candidate not held by another network.
// - resolveVniConflicts: when concurrent creations on different nodes picked the same VNI, the
//   claim with the lower probe index (then the smaller network id) keeps it; the others are
//   re-allocated in network-id order against everything already settled.

import { PeerstackError } from "./errors.ts";
import { hash32 } from "./random.ts";

/** VNIs 1..4095 are left for operator-defined provider networks. */
export interface VniRange {
  min: number;
  max: number;
}
export const DEFAULT_VNI_RANGE: VniRange = { min: 4096, max: 16_777_215 };
/** Hashed candidates tried before falling back to a linear scan. */
export const HASHED_PROBES = 16;

export interface VniClaim {
  networkId: string;
  vni: number;
}

/** Every VNI of the range is held by another network. */
export class VniExhaustedError extends PeerstackError {
  constructor(networkId: string, range: VniRange) {
    super("VNI_EXHAUSTED", `allocating a VNI for network "${networkId}": all of ${range.min}..${range.max} are in use`);
  }
}

/** A VNI range that is empty or outside VXLAN's 24 bits. */
export class VniRangeError extends PeerstackError {
  constructor(range: VniRange) {
    super("VNI_RANGE_INVALID", `VNI range ${range.min}..${range.max} is not within 1..16777215`);
  }
}

function checkRange(range: VniRange): number {
  const ok = Number.isInteger(range.min) && Number.isInteger(range.max) && range.min >= 1 && range.max <= 16_777_215 && range.min <= range.max;
  if (!ok) throw new VniRangeError(range);
  return range.max - range.min + 1;
}

/** The i-th candidate VNI for a network (i >= 0): hashed probes first, then a linear scan from probe 0. */
export function vniCandidate(networkId: string, i: number, range: VniRange = DEFAULT_VNI_RANGE): number {
  const size = checkRange(range);
  if (i < HASHED_PROBES) return range.min + (hash32(`${networkId}#${i}`) % size);
  const start = hash32(`${networkId}#0`) % size;
  return range.min + ((start + (i - HASHED_PROBES + 1)) % size);
}

/** Position of `vni` in the network's probe sequence (Infinity if it is outside the range). */
export function probeIndex(networkId: string, vni: number, range: VniRange = DEFAULT_VNI_RANGE): number {
  const size = checkRange(range);
  if (!Number.isInteger(vni) || vni < range.min || vni > range.max) return Infinity;
  for (let i = 0; i < HASHED_PROBES; i++) if (vniCandidate(networkId, i, range) === vni) return i;
  const start = hash32(`${networkId}#0`) % size;
  const step = (vni - range.min - start + size) % size; // linear position: start + step
  return step === 0 ? HASHED_PROBES + size - 1 : HASHED_PROBES + step - 1; // step 0 is probe 0 (matched above)
}

/**
 * The VNI for `networkId` given the claims already known: its own claim if it has one, else the first
 * candidate no other network holds.
 */
export function allocateVni(networkId: string, existing: Iterable<VniClaim>, range: VniRange = DEFAULT_VNI_RANGE): number {
  const size = checkRange(range);
  const taken = new Set<number>();
  for (const c of existing) {
    if (c.networkId === networkId) return c.vni;
    taken.add(c.vni);
  }
  for (let i = 0; i < HASHED_PROBES + size; i++) {
    const v = vniCandidate(networkId, i, range);
    if (!taken.has(v)) return v;
  }
  throw new VniExhaustedError(networkId, range);
}

/** Orders claims to the same VNI: lower probe index wins, then the smaller network id. */
function better(a: VniClaim, b: VniClaim, range: VniRange): boolean {
  const pa = probeIndex(a.networkId, a.vni, range);
  const pb = probeIndex(b.networkId, b.vni, range);
  if (pa !== pb) return pa < pb;
  return a.networkId < b.networkId;
}

/**
 * Settles a set of claims (possibly with duplicate VNIs, or one network claiming twice) into a
 * collision-free assignment. Pure and order-independent; claims that already won keep their VNI.
 * Returns the full assignment and the networks whose VNI changed.
 */
export function resolveVniConflicts(
  claims: Iterable<VniClaim>,
  range: VniRange = DEFAULT_VNI_RANGE,
): { assignment: Map<string, number>; moved: Map<string, number> } {
  checkRange(range);
  // A network that (through a replication race) claims twice keeps its best claim.
  const perNetwork = new Map<string, VniClaim>();
  for (const c of claims) {
    const cur = perNetwork.get(c.networkId);
    if (!cur || better(c, cur, range)) perNetwork.set(c.networkId, c);
  }
  const winners = new Map<number, VniClaim>();
  for (const c of perNetwork.values()) {
    const inRange = Number.isInteger(c.vni) && c.vni >= range.min && c.vni <= range.max;
    if (!inRange) continue;
    const cur = winners.get(c.vni);
    if (!cur || better(c, cur, range)) winners.set(c.vni, c);
  }
  const assignment = new Map<string, number>();
  const settled: VniClaim[] = [];
  for (const w of winners.values()) {
    assignment.set(w.networkId, w.vni);
    settled.push(w);
  }
  const losers = [...perNetwork.keys()].filter((id) => !assignment.has(id)).sort();
  const moved = new Map<string, number>();
  for (const id of losers) {
    const vni = allocateVni(id, settled, range);
    assignment.set(id, vni);
    moved.set(id, vni);
    settled.push({ networkId: id, vni });
  }
  return { assignment, moved };
}
