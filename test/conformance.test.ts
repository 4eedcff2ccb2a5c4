// `peerstack conformance` for real (root, python3-tempest): a one-node lab of its own, the interop
// identity tests through Tempest. Asserts the per-area counts line and that the required tests it
// covers pass (tokens, API versions, catalog, default domain, application credentials).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = resolve(import.meta.dirname, "../bin/peerstack.ts");
// Per-process names, so a developer's lab or another suite run never shares a namespace or subnet.
const NAME = `psct${process.pid % 10000}`;
const SUBNET = `10.242.${process.pid % 250}`;
const ROOT = mkdtempSync(join(tmpdir(), "psconft-"));
const LAB = ["--dir", join(ROOT, "lab"), "--name", NAME, "--subnet", SUBNET];
const runnable = process.getuid?.() === 0 && existsSync("/usr/bin/tempest");

function peerstack(args: string[], timeout: number): { code: number; out: string } {
  const r = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", BIN, ...args], { encoding: "utf8", timeout });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!runnable)("peerstack conformance (Tempest against a lab)", () => {
  afterAll(() => {
    peerstack(["lab", "down", ...LAB], 120_000);
    rmSync(ROOT, { recursive: true, force: true });
  });

  it("--area interop --regex identity: brings a lab up, prints the counts line, the required identity tests pass", () => {
    const out = join(ROOT, "results");
    const r = peerstack(["conformance", "--area", "interop", "--regex", "tempest\\.api\\.identity\\.v3\\.(test_tokens|test_api_discovery|test_catalog|test_domains|test_application_credentials)", "--out", out, "--nodes", "1", ...LAB], 400_000);
    expect(r.out).toMatch(/^\[1\/\d+\] (ok  |FAIL|skip) tempest\.api\.identity\./m);
    const counts = /^identity: (\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(r.out);
    expect(counts, r.out.slice(-3000)).not.toBeNull();
    const passed = Number(counts![1]);
    expect(passed).toBeGreaterThanOrEqual(12);
    expect(readFileSync(join(out, "results.xml"), "utf8")).toContain("<testsuite name=\"tempest\"");
    expect(existsSync(join(out, "results.subunit"))).toBe(true);
    for (const name of ["test_create_token", "test_validate_token", "test_list_api_versions", "test_catalog_standardization", "test_default_domain_exists", "test_create_application_credential"]) {
      expect(r.out, name).toMatch(new RegExp(`^\\[\\d+/\\d+\\] ok   \\S+\\.${name} `, "m"));
    }
  }, 420_000);
});
