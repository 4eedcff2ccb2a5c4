// One small helper per lvm2 CLI call (STYLE rule 2). Sizes are passed and reported in bytes;
// reports are read as JSON (`--reportformat json`), never by splitting columns.
import type { CommandRunner } from "./interface.ts";

const LVM_TIMEOUT_MS = 120_000;

export interface LvRow {
  name: string;
  attr: string;
  sizeBytes: number;
  /** Thin snapshots: the origin LV's name while that LV exists. */
  origin: string;
  pool: string;
  /** Thin pools and thin LVs: percent of data in use; NaN when not reported. */
  dataPercent: number;
}

export interface VgRow {
  name: string;
  sizeBytes: number;
  freeBytes: number;
  extentBytes: number;
}

/** Extracts the rows of one report kind ("lv", "vg", "pv") from lvm's JSON output. */
export function parseReport(stdout: string, kind: string): Record<string, string>[] {
  const doc = JSON.parse(stdout) as { report?: Array<Record<string, unknown>> };
  if (!Array.isArray(doc.report)) throw new Error(`lvm JSON output has no "report" array`);
  const rows: Record<string, string>[] = [];
  for (const part of doc.report) {
    const list = part[kind];
    if (Array.isArray(list)) rows.push(...(list as Record<string, string>[]));
  }
  return rows;
}

const num = (s: string | undefined): number => (s === undefined || s.trim() === "" ? NaN : Number(s.trim()));

export function parseLvs(stdout: string): LvRow[] {
  return parseReport(stdout, "lv").map((r) => ({
    name: r.lv_name,
    attr: r.lv_attr ?? "",
    sizeBytes: num(r.lv_size),
    origin: r.origin ?? "",
    pool: r.pool_lv ?? "",
    dataPercent: num(r.data_percent),
  }));
}

export function parseVgs(stdout: string): VgRow[] {
  return parseReport(stdout, "vg").map((r) => ({
    name: r.vg_name,
    sizeBytes: num(r.vg_size),
    freeBytes: num(r.vg_free),
    extentBytes: num(r.vg_extent_size),
  }));
}

const REPORT = ["--reportformat", "json", "--units", "b", "--nosuffix"];
const lvm = (r: CommandRunner, cmd: string, args: string[], timeoutMs = LVM_TIMEOUT_MS) => r.run(cmd, args, { timeoutMs });

/** All LVs of a VG, hidden ones excluded. */
export async function lvs(r: CommandRunner, vg: string): Promise<LvRow[]> {
  const { stdout } = await lvm(r, "lvs", [...REPORT, "-o", "lv_name,lv_attr,lv_size,origin,pool_lv,data_percent", vg]);
  return parseLvs(stdout);
}

/** One VG's size and free space. */
export async function vgs(r: CommandRunner, vg: string): Promise<VgRow> {
  const { stdout } = await lvm(r, "vgs", [...REPORT, "-o", "vg_name,vg_size,vg_free,vg_extent_size", vg]);
  const [row] = parseVgs(stdout);
  if (!row) throw new Error(`vgs returned no row for "${vg}"`);
  return row;
}

/** Initialise block devices as PVs (tests and first-time host setup). */
export async function pvcreate(r: CommandRunner, devices: string[]): Promise<void> {
  await lvm(r, "pvcreate", ["-y", ...devices]);
}

/** Create a VG over PVs (tests and first-time host setup). */
export async function vgcreate(r: CommandRunner, vg: string, devices: string[]): Promise<void> {
  await lvm(r, "vgcreate", [vg, ...devices]);
}

/** A thin pool using `percentOfFree` of the VG's free extents; new blocks are zeroed (-Z y) so no tenant reads another's data. */
export async function lvcreateThinPool(r: CommandRunner, vg: string, pool: string, percentOfFree: number): Promise<void> {
  await lvm(r, "lvcreate", ["-y", "--type", "thin-pool", "-Z", "y", "-l", `${percentOfFree}%FREE`, "-n", pool, vg]);
}

/** A thin LV of `sizeBytes` (rounded up to the extent size) in the pool. */
export async function lvcreateThin(r: CommandRunner, vg: string, pool: string, name: string, sizeBytes: number): Promise<void> {
  await lvm(r, "lvcreate", ["-y", "-T", `${vg}/${pool}`, "-V", `${sizeBytes}b`, "-n", name]);
}

/** A thin snapshot of `origin`, activated now and at boot (-kn clears the activation-skip flag). */
export async function lvcreateThinSnapshot(r: CommandRunner, vg: string, origin: string, name: string): Promise<void> {
  await lvm(r, "lvcreate", ["-y", "-s", "-kn", "-ay", "-n", name, `${vg}/${origin}`]);
}

/** Grow an LV to `sizeBytes`. */
export async function lvextend(r: CommandRunner, vg: string, name: string, sizeBytes: number): Promise<void> {
  await lvm(r, "lvextend", ["-y", "-L", `${sizeBytes}b`, `${vg}/${name}`]);
}

/** Rename an LV within its VG. */
export async function lvrename(r: CommandRunner, vg: string, from: string, to: string): Promise<void> {
  await lvm(r, "lvrename", [vg, from, to]);
}

/** Remove LVs. */
export async function lvremove(r: CommandRunner, vg: string, names: string[]): Promise<void> {
  await lvm(r, "lvremove", ["-y", ...names.map((n) => `${vg}/${n}`)]);
}

/** stderr of a failed command (CommandError keeps it), for telling "exists"/"missing" apart. */
export function stderrOf(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  return `${typeof e?.stderr === "string" ? e.stderr : ""}\n${typeof e?.message === "string" ? e.message : ""}`;
}

export const alreadyExists = (err: unknown) => /already exists/i.test(stderrOf(err));
/** Only a missing LV: a missing VG ("Volume group … not found") is a misconfiguration, not "already deleted". */
export const notFound = (err: unknown) => /Failed to find logical volume/i.test(stderrOf(err));
/** lvremove of an LV some process has open: "Logical volume vg/lv in use." */
export const inUse = (err: unknown) => /Logical volume \S+ in use|Can't remove open logical volume/i.test(stderrOf(err));
export const noSpace = (err: unknown) => /Insufficient (free space|suitable)|not enough space/i.test(stderrOf(err));
