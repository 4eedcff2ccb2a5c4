// checkImage against real qemu-img: a backing file, an external data file, content of another format
// than declared and an oversized virtual size are refused; plain raw and qcow2 pass with their size.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localRunner } from "../run.ts";
import { checkImage, UnsafeImageError } from "./image-check.ts";

const dir = mkdtempSync(join(tmpdir(), "psimgchk-"));
const img = (...args: string[]) => execFileSync("qemu-img", ["create", "-q", ...args]);
const refusal = (p: Promise<unknown>) => p.then(() => "accepted", (e: unknown) => (e instanceof UnsafeImageError ? e.reason : `other error: ${String(e)}`));

describe("checkImage (real qemu-img)", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secret = join(dir, "secret");
  writeFileSync(secret, "root-only secret\n", { mode: 0o600 });

  it("passes plain raw and qcow2 images with their virtual size", async () => {
    img("-f", "qcow2", join(dir, "ok.qcow2"), "64M");
    img("-f", "raw", join(dir, "ok.raw"), "1M");
    expect(await checkImage(localRunner, join(dir, "ok.qcow2"), "qcow2")).toEqual({ format: "qcow2", virtualSize: 64 * 2 ** 20 });
    expect(await checkImage(localRunner, join(dir, "ok.raw"), "raw")).toEqual({ format: "raw", virtualSize: 2 ** 20 });
  });

  it("refuses a backing file, a data file, a format mismatch either way, an oversized disk, an unbootable format", async () => {
    img("-f", "qcow2", "-b", secret, "-F", "raw", join(dir, "evil.qcow2"));
    img("-f", "qcow2", "-o", `data_file=${secret}`, join(dir, "data.qcow2"), "1M");
    img("-f", "qcow2", join(dir, "big.qcow2"), "3T");
    expect(await refusal(checkImage(localRunner, join(dir, "evil.qcow2"), "qcow2"))).toMatch(/backing file/);
    expect(await refusal(checkImage(localRunner, join(dir, "data.qcow2"), "qcow2"))).toMatch(/external data file/);
    expect(await refusal(checkImage(localRunner, join(dir, "evil.qcow2"), "raw"))).toMatch(/content is a qcow2 image but disk_format is raw/);
    expect(await refusal(checkImage(localRunner, join(dir, "ok.raw"), "qcow2"))).toMatch(/not a qcow2 image/);
    expect(await refusal(checkImage(localRunner, join(dir, "big.qcow2"), "qcow2"))).toMatch(/virtual size 3298534883328 bytes is above the limit/);
    expect(await refusal(checkImage(localRunner, join(dir, "ok.qcow2"), "qcow2", { maxVirtualBytes: 2 ** 20 }))).toMatch(/above the limit of 1048576/);
    expect(await refusal(checkImage(localRunner, join(dir, "ok.qcow2"), "vmdk"))).toMatch(/disk_format vmdk is not supported/);
  });
});
