// Writes the config drive tree as the ISO9660 image Nova makes (Joliet + Rock Ridge, volume label
// `config-2`, which cloud-init's ConfigDrive source looks for), with xorriso.
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Runner } from "../run.ts";
import type { ConfigDriveTree } from "./config-drive.ts";

/** cloud-init finds the drive by this filesystem label (blkid LABEL=config-2). */
export const CONFIG_DRIVE_LABEL = "config-2";

/** Stages the tree in a private directory beside isoPath, runs xorriso, leaves isoPath 0600. */
export async function writeConfigDriveIso(runner: Runner, tree: ConfigDriveTree, isoPath: string, opts: { xorriso?: string; timeoutMs?: number } = {}): Promise<void> {
  // The tree holds the tenant's user_data: staged in a 0700 directory, removed after.
  const stage = await mkdtemp(join(dirname(isoPath), ".config-drive-"));
  try {
    for (const [rel, content] of Object.entries(tree)) {
      if (rel.split("/").some((part) => part === "" || part === "." || part === "..")) throw new Error(`config drive path "${rel}" is not a plain relative path`);
      await mkdir(dirname(join(stage, rel)), { recursive: true, mode: 0o700 });
      await writeFile(join(stage, rel), content, { mode: 0o600 });
    }
    const tmp = `${isoPath}.tmp`;
    await rm(tmp, { force: true });
    // -as mkisofs: the same flags Nova passes to genisoimage/mkisofs.
    await runner.run(opts.xorriso ?? "xorriso", ["-as", "mkisofs", "-quiet", "-o", tmp, "-V", CONFIG_DRIVE_LABEL, "-J", "-r", "-input-charset", "utf-8", stage], { timeoutMs: opts.timeoutMs ?? 60_000 });
    await chmod(tmp, 0o600);
    await rename(tmp, isoPath);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
