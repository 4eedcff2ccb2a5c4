// cloud-init's own Python code, unpacked from Debian's package without installing it (no services,
// no hooks): `apt-get download` + `dpkg-deb -x` into a cache dir, plus the pure-Python modules it
// imports at load time, so a stdlib-only python3 (-S) can run its ConfigDrive reader.
import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../../drivers/run.ts";
import { peerstackHome } from "../../drivers/guest/paths.ts";

/** cloud-init and what `cloudinit.sources.helpers.openstack` imports on a bare python3 -S. */
export const CLOUD_INIT_DEBS = [
  "cloud-init", "python3-configobj", "python3-yaml", "python3-requests", "python3-urllib3",
  "python3-idna", "python3-certifi", "python3-chardet", "python3-charset-normalizer", "python3-six",
];

let unpacked: Promise<string> | undefined;

/** The dist-packages directory holding cloudinit/ (downloaded once, then cached). No apt: it throws. */
export function cloudInitPythonPath(): Promise<string> {
  unpacked ??= unpack();
  return unpacked;
}

async function unpack(): Promise<string> {
  const root = join(peerstackHome(), "cache", "cloud-init-python");
  const dist = join(root, "usr", "lib", "python3", "dist-packages");
  if (await stat(join(dist, "cloudinit", "sources", "helpers", "openstack.py")).then(() => true, () => false)) return dist;
  await mkdir(join(peerstackHome(), "cache"), { recursive: true });
  const work = await mkdtemp(join(peerstackHome(), "cache", ".cloud-init-"));
  try {
    // apt-get download fetches into the cwd; _apt cannot write a 0700 mkdtemp, so it warns and runs as us.
    await run("apt-get", ["download", ...CLOUD_INIT_DEBS], { cwd: work, timeoutMs: 300_000 });
    const tree = join(work, "tree");
    for (const deb of (await readdir(work)).filter((f) => f.endsWith(".deb"))) await run("dpkg-deb", ["-x", join(work, deb), tree]);
    await rm(root, { recursive: true, force: true });
    await rename(tree, root);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return dist;
}
