// Issue 13 item 6 against real agents: Glance's image_count_total and image_size_total (MiB) are kept
// by the quota escrow (413 over them, rights back when an image is deleted); blobs live in imagesDir;
// a node whose image store would drop below its reserve refuses the upload with 413 and writes nothing.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, waitFor, type Mesh } from "../helpers/mesh-process.ts";
import { glanceClient, type GlanceClient } from "./glance-client.ts";

const PASSWORD = "image-quota-secret";
const MiB = 2 ** 20;

describe("image quota and the image store's reserve (real agents)", () => {
  let quotaMesh: Mesh;
  let fullMesh: Mesh;
  let q: GlanceClient;
  let full: GlanceClient;
  const blobsDir = mkdtempSync(join(tmpdir(), "psimgq-blobs-"));
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    process.env.PEERSTACK_RECONCILER = "off";
    quotaMesh = await startMesh(1, { prefix: "psimgq-", spec: () => ({ args: ["--image-count-total", "2", "--image-size-total", "3", "--images-dir", blobsDir] }) });
    fullMesh = await startMesh(1, { prefix: "psimgfull-", spec: () => ({ args: ["--image-reserve-bytes", String(2 ** 60)] }) });
    q = await glanceClient(quotaMesh.nodes[0].httpUrl, PASSWORD);
    full = await glanceClient(fullMesh.nodes[0].httpUrl, PASSWORD);
  }, 120_000);
  afterAll(async () => {
    await quotaMesh?.destroy();
    await fullMesh?.destroy();
    rmSync(blobsDir, { recursive: true, force: true });
    for (const [k, v] of [["PEERSTACK_ADMIN_PASSWORD", saved.pw], ["PEERSTACK_RECONCILER", saved.rc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const create = (g: GlanceClient, name: string) => g.call("POST", "/image/v2/images", g.admin, { name, disk_format: "raw", container_format: "bare" });

  it("image_count_total: the third image is 413; deleting one gives its right back", async () => {
    const a = await create(q, "a");
    const b = await create(q, "b");
    expect([a.status, b.status]).toEqual([201, 201]);
    const c = await create(q, "c");
    expect(c.status).toBe(413);
    expect(JSON.stringify(c.body)).toMatch(/image_count_total is over limit of 2/);
    expect((await q.call("DELETE", `/image/v2/images/${String(b.body.id)}`, q.admin)).status).toBe(204);
    // The right comes back when the node that took it sees the record gone (asynchronous, once).
    await waitFor("the count right back", async () => (await create(q, "c2")).status === 201, 15_000, 200);
  });

  it("image_size_total (MiB): 2 MiB fits, 2 MiB more is 413 and the image stays queued; blobs land in imagesDir", async () => {
    const images = (await q.call("GET", "/image/v2/images?status=queued", q.admin)).body.images as { id: string }[];
    const [first, second] = images.map((i) => i.id);
    expect((await q.putFile(first, q.admin, Buffer.alloc(2 * MiB, 1))).status).toBe(204);
    expect(readdirSync(join(blobsDir, "sha256"))).toHaveLength(1);
    expect(existsSync(join(quotaMesh.nodes[0].spec.dataDir, "images", "sha256"))).toBe(false);
    const over = await q.putFile(second, q.admin, Buffer.alloc(2 * MiB, 2));
    expect(over.status).toBe(413);
    expect(JSON.stringify(over.body)).toMatch(/image_size_total is over limit of 3/);
    expect((await q.call("GET", `/image/v2/images/${second}`, q.admin)).body.status).toBe("queued");
    expect((await q.putFile(second, q.admin, Buffer.alloc(MiB, 3))).status).toBe(204);
  });

  it("a node keeps its reserve free: the upload is 413 Image storage media is full and nothing is written", async () => {
    const img = await create(full, "big");
    const r = await full.putFile(String(img.body.id), full.admin, Buffer.alloc(MiB, 4));
    expect(r.status).toBe(413);
    expect(JSON.stringify(r.body)).toMatch(/Image storage media is full/);
    expect((await full.call("GET", `/image/v2/images/${String(img.body.id)}`, full.admin)).body.status).toBe("queued");
    const tmp = join(fullMesh.nodes[0].spec.dataDir, "images", "tmp");
    expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
  });
});
