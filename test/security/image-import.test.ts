// Issue 13 item 4, as an attacker would try it against one real agent: a qcow2 whose backing file is a
// root-only host file, uploaded through Glance (declared qcow2, and declared raw), a qcow2 with an
// external data file, an oversized virtual size: each ends `killed` with a reason, its bits are gone
// and nothing can boot it. A kernel_id naming another project's private image is refused at create.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "../helpers/mesh-process.ts";
import { glanceClient, type GlanceClient } from "./glance-client.ts";

const PASSWORD = "image-import-secret";

describe("image import is safe (real agent, real qemu-img)", () => {
  let mesh: Mesh;
  let g: GlanceClient;
  let work: string;
  const saved = { pw: process.env.PEERSTACK_ADMIN_PASSWORD, rc: process.env.PEERSTACK_RECONCILER };

  beforeAll(async () => {
    process.env.PEERSTACK_ADMIN_PASSWORD = PASSWORD;
    process.env.PEERSTACK_RECONCILER = "off";
    work = mkdtempSync(join(tmpdir(), "psimgsec-"));
    writeFileSync(join(work, "secret"), "ROOT-ONLY-SECRET-CONTENT\n", { mode: 0o600 });
    mesh = await startMesh(1, { prefix: "psimgsec-", spec: () => ({ args: ["--image-max-virtual-bytes", String(2 ** 30)] }) });
    g = await glanceClient(mesh.nodes[0].httpUrl, PASSWORD);
  }, 90_000);
  afterAll(async () => {
    await mesh?.destroy();
    rmSync(work, { recursive: true, force: true });
    for (const [k, v] of [["PEERSTACK_ADMIN_PASSWORD", saved.pw], ["PEERSTACK_RECONCILER", saved.rc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const qemuImg = (...args: string[]) => execFileSync("qemu-img", ["create", "-q", ...args]);
  const blobFiles = () => {
    const d = join(mesh.nodes[0].spec.dataDir, "images", "sha256");
    return existsSync(d) ? readdirSync(d) : [];
  };

  /** Uploads `file` as a new image of `diskFormat`; returns the PUT answer and the image afterwards. */
  async function upload(file: string, diskFormat: string) {
    const img = await g.call("POST", "/image/v2/images", g.admin, { name: `up-${diskFormat}`, disk_format: diskFormat, container_format: "bare" });
    expect(img.status, JSON.stringify(img.body)).toBe(201);
    const put = await g.putFile(String(img.body.id), g.admin, readFileSync(file));
    const after = await g.call("GET", `/image/v2/images/${String(img.body.id)}`, g.admin);
    return { id: String(img.body.id), put, image: after.body };
  }

  async function expectNeverUsable(id: string) {
    const data = await fetch(`${g.url}/image/v2/images/${id}/file`, { headers: { "x-auth-token": g.admin } });
    expect(data.status).toBe(204);
    expect((await data.arrayBuffer()).byteLength).toBe(0);
    const boot = await g.call("POST", "/compute/v2.1/servers", g.admin, { server: { name: "evil", flavorRef: await g.flavor(), imageRef: id, networks: "none" } }, { "openstack-api-version": "compute 2.37" });
    expect(boot.status).toBe(400);
    expect(JSON.stringify(boot.body)).toContain(`Image ${id} is not active.`);
  }

  it("a qcow2 whose backing file is a root-only host file is killed with a reason, its bits removed", async () => {
    const evil = join(work, "evil.qcow2");
    qemuImg("-f", "qcow2", "-b", join(work, "secret"), "-F", "raw", evil);
    const before = blobFiles().length;
    const r = await upload(evil, "qcow2");
    expect(r.put.status).toBe(400);
    expect(JSON.stringify(r.put.body)).toMatch(/backing file is not accepted/);
    expect(r.image).toMatchObject({ status: "killed", status_reason: "a qcow2 image with a backing file is not accepted", size: null });
    expect(blobFiles().length).toBe(before);
    await expectNeverUsable(r.id);
  });

  it("the same file declared raw is refused too (never opened as qcow2)", async () => {
    const r = await upload(join(work, "evil.qcow2"), "raw");
    expect(r.put.status).toBe(400);
    expect(r.image).toMatchObject({ status: "killed", status_reason: "the content is a qcow2 image but disk_format is raw" });
    await expectNeverUsable(r.id);
  });

  it("an external data file and a virtual size above the node's limit are refused", async () => {
    const withData = join(work, "data.qcow2");
    qemuImg("-f", "qcow2", "-o", `data_file=${join(work, "secret")}`, withData, "1M");
    const d = await upload(withData, "qcow2");
    expect(d.image).toMatchObject({ status: "killed", status_reason: "a qcow2 image with an external data file is not accepted" });
    const big = join(work, "big.qcow2");
    qemuImg("-f", "qcow2", big, "2G");
    const b = await upload(big, "qcow2");
    expect(b.put.status).toBe(400);
    expect(b.image.status).toBe("killed");
    expect(String(b.image.status_reason)).toMatch(/virtual size 2147483648 bytes is above the limit of 1073741824 bytes/);
  });

  it("a plain qcow2 goes active with its virtual size", async () => {
    const ok = join(work, "ok.qcow2");
    qemuImg("-f", "qcow2", ok, "64M");
    const r = await upload(ok, "qcow2");
    expect(r.put.status).toBe(204);
    expect(r.image).toMatchObject({ status: "active", virtual_size: 64 * 2 ** 20 });
  });

  it("kernel_id naming another project's private image is 400 at server create", async () => {
    const bob = await g.memberOf("bob-proj", "bob", "bob-pw");
    const raw = join(work, "kernel.raw");
    writeFileSync(raw, Buffer.alloc(4096, 7));
    const adminKernel = await upload(raw, "aki");
    expect(adminKernel.image.status).toBe("active");
    await g.call("PATCH", `/image/v2/images/${adminKernel.id}`, g.admin, [{ op: "replace", path: "/visibility", value: "private" }], { "content-type": "application/openstack-images-v2.1-json-patch" });
    const bobsImage = await g.call("POST", "/image/v2/images", bob, { name: "bob-boot", disk_format: "raw", container_format: "bare", kernel_id: adminKernel.id });
    expect(bobsImage.status).toBe(201);
    expect((await g.putFile(String(bobsImage.body.id), bob, Buffer.alloc(8192, 1))).status).toBe(204);
    const boot = await g.call("POST", "/compute/v2.1/servers", bob, { server: { name: "steal", flavorRef: await g.flavor(), imageRef: bobsImage.body.id, networks: "none" } }, { "openstack-api-version": "compute 2.37" });
    expect(boot.status).toBe(400);
    expect(JSON.stringify(boot.body)).toContain(`Image ${adminKernel.id} could not be found.`);
  });
});
