// What Tempest needs from the cloud before it runs, made through the OpenStack API as the admin:
// two images, two flavors, one shared network (servers of Tempest's dynamic projects attach to it,
// since peerstack has no routers for per-project isolated networks) and the Neutron extension list.
import { readFileSync } from "node:fs";
import { call, findAdminOpenrc, parseOpenrc, token } from "../lab/api.ts";
import { type LabConfig, nodeUrl } from "../lab/config.ts";

export interface Admin {
  base: string;
  username: string;
  password: string;
  project: string;
  region: string;
  token: string;
}

export interface TempestResources {
  imageRef: string;
  imageRefAlt: string;
  flavorRef: string;
  flavorRefAlt: string;
  network: string;
  networkExtensions: string[];
}

export const SHARED_NETWORK = "conformance-shared";
const FLAVORS = [
  { name: "conformance.a", vcpus: 1, ram: 512, disk: 1 },
  { name: "conformance.b", vcpus: 1, ram: 512, disk: 2 },
];
const IMAGES = ["conformance-image", "conformance-image-alt"];

export class ConformanceSetupError extends Error {}

export async function adminOf(c: LabConfig): Promise<Admin> {
  const file = findAdminOpenrc(c);
  if (!file) throw new ConformanceSetupError(`no admin openrc in the lab's node 1 data dir (${c.dir})`);
  const rc = parseOpenrc(readFileSync(file, "utf8"));
  const base = nodeUrl(c, 1);
  const username = rc.OS_USERNAME ?? "admin";
  const password = rc.OS_PASSWORD ?? "";
  const project = rc.OS_PROJECT_NAME ?? "admin";
  const tok = await token(base, username, password, project);
  if (!tok) throw new ConformanceSetupError(`the admin credentials of ${file} were refused by ${base}`);
  return { base, username, password, project, region: rc.OS_REGION_NAME ?? "RegionOne", token: tok };
}

type Listed = Array<{ id: string; name: string }>;

async function ensureFlavor(a: Admin, f: (typeof FLAVORS)[number]): Promise<string> {
  const list = await call("GET", `${a.base}/compute/v2.1/flavors?is_public=None`, a.token);
  const have = (list.json.flavors as Listed | undefined)?.find((x) => x.name === f.name);
  if (have) return have.id;
  const made = await call("POST", `${a.base}/compute/v2.1/flavors`, a.token, { flavor: { ...f, "os-flavor-access:is_public": true } });
  const id = (made.json.flavor as { id?: string } | undefined)?.id;
  if (!id) throw new ConformanceSetupError(`creating flavor "${f.name}": HTTP ${made.status}`);
  return id;
}

async function ensureImage(a: Admin, name: string, qcow2: () => Promise<string>): Promise<string> {
  const list = await call("GET", `${a.base}/image/v2/images?name=${name}`, a.token);
  const have = (list.json.images as Array<{ id: string; status: string }> | undefined)?.find((x) => x.status === "active");
  if (have) return have.id;
  const made = await call("POST", `${a.base}/image/v2/images`, a.token, { name, disk_format: "qcow2", container_format: "bare", visibility: "public" });
  const id = (made.json as { id?: string }).id;
  if (!id) throw new ConformanceSetupError(`creating image "${name}": HTTP ${made.status}`);
  const res = await fetch(`${a.base}/image/v2/images/${id}/file`, { method: "PUT", headers: { "x-auth-token": a.token, "content-type": "application/octet-stream" }, body: readFileSync(await qcow2()) });
  if (!res.ok) throw new ConformanceSetupError(`uploading image "${name}": HTTP ${res.status}`);
  return id;
}

async function ensureSharedNetwork(a: Admin): Promise<void> {
  const list = await call("GET", `${a.base}/networking/v2.0/networks?name=${SHARED_NETWORK}`, a.token);
  if (((list.json.networks as unknown[] | undefined) ?? []).length > 0) return;
  const net = await call("POST", `${a.base}/networking/v2.0/networks`, a.token, { network: { name: SHARED_NETWORK, shared: true } });
  const id = (net.json.network as { id?: string } | undefined)?.id;
  if (!id) throw new ConformanceSetupError(`creating network "${SHARED_NETWORK}": HTTP ${net.status}`);
  const sub = await call("POST", `${a.base}/networking/v2.0/subnets`, a.token, { subnet: { name: SHARED_NETWORK, network_id: id, ip_version: 4, cidr: "10.199.0.0/22" } });
  if (sub.status !== 201) throw new ConformanceSetupError(`creating subnet "${SHARED_NETWORK}": HTTP ${sub.status}`);
}

export async function ensureResources(a: Admin, say: (line: string) => void): Promise<TempestResources> {
  let built: string | undefined;
  const qcow2 = async () => {
    if (built) return built;
    const { buildTestImage } = await import("../../drivers/guest/test-image.ts");
    built = (await buildTestImage({ log: (m) => say(`  ${m}`) })).qcow2;
    return built;
  };
  const [imageRef, imageRefAlt] = [await ensureImage(a, IMAGES[0]!, qcow2), await ensureImage(a, IMAGES[1]!, qcow2)];
  const [flavorRef, flavorRefAlt] = [await ensureFlavor(a, FLAVORS[0]!), await ensureFlavor(a, FLAVORS[1]!)];
  await ensureSharedNetwork(a);
  const ext = await call("GET", `${a.base}/networking/v2.0/extensions`, a.token);
  const networkExtensions = ((ext.json.extensions as Array<{ alias: string }> | undefined) ?? []).map((e) => e.alias);
  say(`tempest resources: images ${IMAGES.join(", ")}, flavors ${FLAVORS.map((f) => f.name).join(", ")}, shared network ${SHARED_NETWORK}, ${networkExtensions.length} network extensions`);
  return { imageRef: imageRef!, imageRefAlt: imageRefAlt!, flavorRef, flavorRefAlt, network: SHARED_NETWORK, networkExtensions };
}
