// `./peerstack image build-test` end to end: builds into a given dir, prints the path, caches.
import { describe, it, expect, afterAll } from "vitest";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "../drivers/run.ts";

const root = resolve(import.meta.dirname, "..");
const out = await mkdtemp(join(tmpdir(), "psvm-cli-"));
afterAll(() => rm(out, { recursive: true, force: true }));

describe("peerstack image build-test", () => {
  it("prints the qcow2 path, shows progress, and reuses the cache the second time", async () => {
    const first = await run(join(root, "peerstack"), ["image", "build-test", "--out", out], { cwd: root, timeoutMs: 300_000 });
    expect(first.stdout.trim()).toBe(join(out, "peerstack-test.qcow2"));
    expect(first.stderr).toContain("test image: building");
    expect((await stat(join(out, "peerstack-test.qcow2"))).size).toBeGreaterThan(1_000_000);
    const manifest = JSON.parse(await readFile(join(out, "peerstack-test.json"), "utf8")) as { key: string };
    const second = await run(join(root, "peerstack"), ["image", "build-test", "--out", out], { cwd: root });
    expect(second.stderr).not.toContain("test image: building");
    expect(second.stderr).toContain(manifest.key);
  }, 300_000);

  it("rejects unknown arguments with usage", async () => {
    const e = await run(join(root, "peerstack"), ["image", "frobnicate"], { cwd: root }).catch((x: unknown) => x as { exitCode: number; stderr: string });
    expect(e).toMatchObject({ exitCode: 2 });
    expect((e as { stderr: string }).stderr).toContain("usage: peerstack image build-test");
  });
});
