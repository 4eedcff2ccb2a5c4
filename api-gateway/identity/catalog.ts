// The service catalog a token carries: the endpoints of the node that issued it (any node serves
// every service), public/internal/admin interfaces, one region.
import { createHash } from "node:crypto";

interface ServiceDef {
  type: string;
  name: string;
  path: string;
}

const SERVICES: ServiceDef[] = [
  { type: "identity", name: "keystone", path: "/identity" },
  { type: "compute", name: "nova", path: "/compute/v2.1" },
  { type: "image", name: "glance", path: "/image" },
  { type: "block-storage", name: "cinder", path: "/volume/v3" },
  { type: "volumev3", name: "cinderv3", path: "/volume/v3" },
  { type: "network", name: "neutron", path: "/networking" },
];

const INTERFACES = ["public", "internal", "admin"] as const;

const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

export interface CatalogEntry {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: string; region: string; region_id: string; url: string }[];
}

export function serviceCatalog(nodeId: string, base: string, region: string): CatalogEntry[] {
  return SERVICES.map((s) => ({
    id: shortHash(`service:${s.type}`),
    type: s.type,
    name: s.name,
    endpoints: INTERFACES.map((iface) => ({
      id: shortHash(`endpoint:${nodeId}:${s.type}:${iface}`),
      interface: iface,
      region,
      region_id: region,
      url: `${base}${s.path}`,
    })),
  }));
}
