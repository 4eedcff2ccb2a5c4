// Issue #13 item 9: a real agent's data dir and the dirs holding the catalog (password hashes,
// user_data), images, instances and volumes are 0700, its key files and openrc 0600, even when the
// data dir existed before with the usual 0755 (the test helper creates it so).
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "../helpers/mesh-process.ts";

describe("files on disk", () => {
  let mesh: Mesh;
  const saved = { rc: process.env.PEERSTACK_RECONCILER, pw: process.env.PEERSTACK_ADMIN_PASSWORD };
  beforeAll(async () => {
    process.env.PEERSTACK_RECONCILER = "off";
    process.env.PEERSTACK_ADMIN_PASSWORD = "psfiles-secret";
    mesh = await startMesh(1, { prefix: "psfiles-" });
  }, 60_000);
  afterAll(async () => {
    await mesh?.destroy();
    for (const [k, v] of [["PEERSTACK_RECONCILER", saved.rc], ["PEERSTACK_ADMIN_PASSWORD", saved.pw]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

  it("the data dir, catalog, images, instances and storage are 0700; keys, openrc and the operator socket 0600", () => {
    const dir = mesh.nodes[0].spec.dataDir;
    for (const d of ["", "catalog", "images", "instances", "storage"]) expect(mode(join(dir, d)), `${d || "data dir"}`).toBe("700");
    for (const f of ["identity.key", "openrc", "operator.sock"]) expect(mode(join(dir, f)), f).toBe("600");
    expect(mode(mesh.clusterKey)).toBe("600");
  });
});
