// The real `openstack` CLI against the Glance v2 plugin over a real HTTP listener, LevelDB store and
// on-disk blob store: image create --file (20 MiB), list, show, save --file (bytes compared), delete.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore } from "../node/images/blob-store.ts";
import { LevelKv } from "../node/store/level-kv.ts";
import { systemClock } from "../node/runtime/system.ts";
import { imageService } from "../api-gateway/image/plugin.ts";
import { ADMIN_PASSWORD, testGateway, type TestGateway } from "../api-gateway/testing/fixture.ts";
import { openstack, type CliResult } from "./helpers/openstack-cli.ts";


describe("openstack image CLI against peerstack", () => {
  let g: TestGateway;
  let dir: string;
  let url: string;
  let blobs: BlobStore;
  const data = randomBytes(20 * 1024 * 1024);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "psimg-cli-"));
    const kv = await LevelKv.open(join(dir, "catalog"));
    blobs = new BlobStore(join(dir, "data"));
    g = await testGateway({ clock: systemClock, kv, extra: { services: { image: imageService({ blobs }) }, bodyLimit: 1024 * 1024 } });
    url = await g.app.listen({ host: "127.0.0.1", port: 0 });
    writeFileSync(join(dir, "disk.qcow2"), data);
  });

  afterAll(async () => {
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const os = (args: string[]): Promise<CliResult> => openstack({ url, dir, password: ADMIN_PASSWORD, timeoutMs: 90_000 }, args);

  it("create --file, list, show, save --file (same bytes), delete", async () => {
    const created = (await os(["image", "create", "--file", join(dir, "disk.qcow2"), "--disk-format", "qcow2", "--container-format", "bare", "--property", "os_distro=test", "cli-img", "-f", "json"])).json() as Record<string, unknown>;
    expect(created.name).toBe("cli-img");
    const id = String(created.id);
    const md5 = createHash("md5").update(data).digest("hex");
    const shown = (await os(["image", "show", "cli-img", "-f", "json"])).json() as Record<string, unknown>;
    expect(shown).toMatchObject({ id, status: "active", size: data.length, checksum: md5, disk_format: "qcow2", container_format: "bare" });
    const sha = createHash("sha256").update(data).digest("hex");
    expect(existsSync(blobs.path(sha))).toBe(true);
    const list = (await os(["image", "list", "-f", "json"])).json() as { ID: string; Name: string; Status: string }[];
    expect(list).toContainEqual({ ID: id, Name: "cli-img", Status: "active" });
    await os(["image", "set", "--name", "cli-img2", "--tag", "edge", "--property", "hw_disk_bus=virtio", "--min-ram", "128", id]);
    const set = (await os(["image", "show", id, "-f", "json"])).json() as Record<string, unknown>;
    expect(set).toMatchObject({ name: "cli-img2", min_ram: 128 });
    expect(JSON.stringify(set.properties ?? set)).toContain("hw_disk_bus");
    expect(JSON.stringify(set.tags)).toContain("edge");
    await os(["image", "unset", "--property", "os_distro", id]);
    expect(JSON.stringify((await os(["image", "show", id, "-f", "json"])).json())).not.toContain("os_distro");
    await os(["image", "save", "--file", join(dir, "out.img"), id]);
    expect(Buffer.compare(readFileSync(join(dir, "out.img")), data)).toBe(0);
    await os(["image", "delete", "cli-img2"]);
    await expect(os(["image", "show", id])).rejects.toThrow(/No Image found|Could not find|404|No image/i);
    expect(existsSync(blobs.path(sha))).toBe(false);
  }, 180_000);
});
