// Quotas of the current project with usage bars: compute (Nova limits), volumes (Cinder limits) and
// networking (Neutron quota details).
import { api, session } from "../api.js";
import { bar, h } from "../dom.js";

export async function quotasView(main) {
  const project = session().project.id;
  const [nova, cinder, neutron] = await Promise.all([
    api("GET", "/compute/v2.1/limits").then((r) => r.limits.absolute),
    api("GET", "/volume/v3/limits").then((r) => r.limits.absolute).catch(() => undefined),
    api("GET", `/networking/v2.0/quotas/${project}/details`).then((r) => r.quota).catch(() => undefined),
  ]);
  const panel = (title, rows) => h("section", { class: "panel" }, h("h3", {}, title), rows);
  main.append(
    h("h2", {}, "Quotas"),
    panel("Compute", [
      bar("Instances", nova.totalInstancesUsed, nova.maxTotalInstances),
      bar("vCPUs", nova.totalCoresUsed, nova.maxTotalCores),
      bar("RAM (MiB)", nova.totalRAMUsed, nova.maxTotalRAMSize),
      bar("Server groups", nova.totalServerGroupsUsed ?? 0, nova.maxServerGroups),
    ]),
    cinder && panel("Block storage", [bar("Volumes", cinder.totalVolumesUsed, cinder.maxTotalVolumes), bar("Gigabytes", cinder.totalGigabytesUsed, cinder.maxTotalVolumeGigabytes), bar("Snapshots", cinder.totalSnapshotsUsed, cinder.maxTotalSnapshots)]),
    neutron && panel("Networking", Object.entries(neutron).filter(([, q]) => q && typeof q === "object").map(([k, q]) => bar(k.replaceAll("_", " "), q.used, q.limit))),
  );
}
