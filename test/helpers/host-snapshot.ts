// What a lab could leave on the host, observed from outside: file listings of the places daemons and
// temp files go, root-namespace links, namespaces, nftables tables and mounts, plus every path the
// lab's processes hold (command-line paths, open files, cwd). Other work on this machine also creates
// files meanwhile, so the comparison in the test attributes new entries to the lab by what the lab's
// own processes held and by the lab's names, instead of requiring the host to be frozen.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** Where files outside the lab dir would land: temp, runtime state, daemon state, logs, config. */
export const WATCHED_DIRS = ["/tmp", "/var/tmp", "/run", "/dev/shm", "/var/lib", "/var/log", "/etc"];

export interface HostSnapshot {
  files: Set<string>;
  links: string[];
  namespaces: string[];
  nftTables: string[];
  mounts: string[];
}

function walk(dir: string, depth: number, out: Set<string>): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    out.add(p);
    if (depth > 1 && e.isDirectory() && !e.isSymbolicLink()) walk(p, depth - 1, out);
  }
}

function json<T>(cmd: string, args: string[]): T | undefined {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  try {
    return r.status === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as T) : undefined;
  } catch {
    return undefined;
  }
}

export function hostSnapshot(depth = 3): HostSnapshot {
  const files = new Set<string>();
  for (const d of WATCHED_DIRS) walk(d, depth, files);
  const links = (json<Array<{ ifname: string }>>("ip", ["-j", "link", "show"]) ?? []).map((l) => l.ifname);
  const namespaces = (json<Array<{ name: string }>>("ip", ["-j", "netns", "list"]) ?? []).map((n) => n.name);
  const nft = json<{ nftables: Array<{ table?: { family: string; name: string } }> }>("nft", ["-j", "list", "tables"]);
  const nftTables = (nft?.nftables ?? []).flatMap((x) => (x.table ? [`${x.table.family} ${x.table.name}`] : []));
  const mounts = readFileSync("/proc/mounts", "utf8").split("\n").filter(Boolean);
  return { files, links, namespaces, nftTables, mounts };
}

/** Absolute paths a process holds: its cwd, open files, and absolute paths in its arguments (incl. `k=/path`). */
export function heldPaths(pid: number): string[] {
  const out = new Set<string>();
  try {
    out.add(readlinkSync(`/proc/${pid}/cwd`));
  } catch {
    /* gone */
  }
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const t = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (t.startsWith("/")) out.add(t.replace(/ \(deleted\)$/, ""));
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* gone */
  }
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    // Multiaddrs (/ip4/…/tcp/…) look like paths but are not.
    for (const a of args) for (const m of a.matchAll(/(?:^|[=,:])(\/[^,=:\s]+)/g)) if (!/^\/(ip4|ip6|dns4?|dns6)\//.test(m[1]!)) out.add(m[1]!);
  } catch {
    /* gone */
  }
  return [...out];
}

/** Paths from `paths` that still exist. */
export function stillThere(paths: Iterable<string>): string[] {
  return [...paths].filter((p) => existsSync(p));
}

/**
 * The path existed when the snapshot was taken: its prefix at the snapshot's depth was listed (deeper
 * paths under a listed directory count as existing: the listing cannot tell). Paths outside the
 * watched places count as existing too (cannot tell).
 */
export function existedBefore(s: HostSnapshot, p: string, depth: number): boolean {
  const w = WATCHED_DIRS.find((d) => p.startsWith(`${d}/`));
  if (!w) return true;
  const rel = p.slice(w.length + 1).split("/");
  return s.files.has(`${w}/${rel.slice(0, Math.min(rel.length, depth)).join("/")}`);
}
