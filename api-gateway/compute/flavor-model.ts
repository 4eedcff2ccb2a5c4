// Flavor records (kind "flavor", id = the flavor id) and their Nova views per microversion.
import type { CatalogRecord } from "../store.ts";

export const FLAVOR = "flavor";

function links(base: string, id: string) {
  return [
    { rel: "self", href: `${base}/compute/v2.1/flavors/${id}` },
    { rel: "bookmark", href: `${base}/compute/flavors/${id}` },
  ];
}

export function flavorSummary(f: CatalogRecord, base: string, mv: number): Record<string, unknown> {
  const view: Record<string, unknown> = { id: f.id, name: f.name, links: links(base, f.id) };
  if (mv >= 55) view.description = f.description ?? null;
  return view;
}

export function flavorDetail(f: CatalogRecord, base: string, mv: number): Record<string, unknown> {
  const swap = Number(f.swap ?? 0);
  const view: Record<string, unknown> = {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    vcpus: f.vcpus,
    swap: swap === 0 && mv < 75 ? "" : swap,
    rxtx_factor: Number(f.rxtx_factor ?? 1),
    "OS-FLV-EXT-DATA:ephemeral": f.ephemeral ?? 0,
    "OS-FLV-DISABLED:disabled": false,
    "os-flavor-access:is_public": f.is_public !== false,
    links: links(base, f.id),
  };
  if (mv >= 55) view.description = f.description ?? null;
  if (mv >= 61) view.extra_specs = f.extra_specs ?? {};
  return view;
}
