// Admin views (admin role only; the API refuses the same calls to others with 403): hosts with capacity
// bars, projects/users/roles, flavors, and the mesh as the API shows it (compute services up/down).
import { api } from "../api.js";
import { bar, busy, field, formValues, h, status, table } from "../dom.js";

const nova = (path, method = "GET", body) => api(method, `/compute/v2.1${path}`, body);

export async function hostsView(main) {
  const [hypervisors, services, zones] = await Promise.all([nova("/os-hypervisors/detail").then((r) => r.hypervisors), nova("/os-services").then((r) => r.services), nova("/os-availability-zone/detail").then((r) => r.availabilityZoneInfo)]);
  const zoneOf = (host) => zones.find((z) => Object.keys(z.hosts ?? {}).includes(host))?.zoneName ?? "";
  main.append(
    h("h2", {}, "Hosts"),
    ...hypervisors.map((hv) => {
      const svc = services.find((s) => s.host === hv.service.host);
      return h(
        "section",
        { class: "panel host", dataset: { host: hv.hypervisor_hostname } },
        h("h3", {}, `${hv.hypervisor_hostname} `, h("span", { class: `status status-${hv.state}` }, hv.state), h("span", { class: "muted" }, ` · ${hv.status} · zone ${zoneOf(hv.service.host) || "?"} · ${hv.running_vms} running`)),
        bar("vCPUs", hv.vcpus_used, hv.vcpus),
        bar("RAM (MiB)", hv.memory_mb_used, hv.memory_mb),
        bar("Disk (GB)", hv.local_gb_used, hv.local_gb),
        svc && h("p", { class: "muted" }, `compute service ${svc.state}, last heard ${svc.updated_at ?? "never"}`),
      );
    }),
  );
}

export async function identityView(main) {
  const [projects, users, assignments] = await Promise.all([api("GET", "/identity/v3/projects").then((r) => r.projects), api("GET", "/identity/v3/users").then((r) => r.users), api("GET", "/identity/v3/role_assignments?include_names=true").then((r) => r.role_assignments)]);
  const rolesOf = (u) =>
    assignments
      .filter((a) => a.user?.id === u.id)
      .map((a) => `${a.role.name ?? a.role.id}@${a.scope.project?.name ?? a.scope.project?.id ?? "domain"}`)
      .join(", ");
  const form = h("form", { class: "inline-form", "aria-label": "Create project" }, field("Project name", h("input", { name: "name", required: true })), field("Description", h("input", { name: "description" })), h("button", { type: "submit", class: "primary" }, "Create project"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (await busy(form.querySelector("button"), "Creating…", () => api("POST", "/identity/v3/projects", { project: { name: v.name, description: v.description, domain_id: "default" } }))) {
      status(`Project ${v.name} created.`);
      main.replaceChildren();
      await identityView(main);
    }
  });
  main.append(
    h("h2", {}, "Projects & users"),
    h("section", { class: "panel" }, h("h3", {}, "Create a project"), form),
    table("Projects", [["Name", (p) => p.name], ["ID", (p) => p.id], ["Enabled", (p) => (p.enabled ? "yes" : "no")], ["Description", (p) => p.description ?? ""]], projects),
    table("Users", [["Name", (u) => u.name], ["Enabled", (u) => (u.enabled ? "yes" : "no")], ["Roles", rolesOf]], users),
  );
}

export async function flavorsView(main) {
  const flavors = (await nova("/flavors/detail?is_public=None")).flavors;
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Create flavor" },
    field("Name", h("input", { name: "name", required: true })),
    field("vCPUs", h("input", { name: "vcpus", type: "number", min: 1, value: 1 })),
    field("RAM (MiB)", h("input", { name: "ram", type: "number", min: 64, value: 512 })),
    field("Disk (GB)", h("input", { name: "disk", type: "number", min: 0, value: 1 })),
    h("button", { type: "submit", class: "primary" }, "Create flavor"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (await busy(form.querySelector("button"), "Creating…", () => nova("/flavors", "POST", { flavor: { name: v.name, vcpus: Number(v.vcpus), ram: Number(v.ram), disk: Number(v.disk) } }))) {
      main.replaceChildren();
      await flavorsView(main);
    }
  });
  main.append(h("h2", {}, "Flavors"), h("section", { class: "panel" }, h("h3", {}, "Create a flavor"), form), table("Flavors", [["Name", (f) => f.name], ["vCPUs", (f) => f.vcpus], ["RAM (MiB)", (f) => f.ram], ["Disk (GB)", (f) => f.disk], ["Public", (f) => (f["os-flavor-access:is_public"] === false ? "no" : "yes")]], flavors));
}

export async function meshView(main) {
  const services = (await nova("/os-services")).services;
  main.append(
    h("h2", {}, "Mesh"),
    h("p", { class: "muted" }, "Every node answers this page from its own replicated view; a node cut off from the others shows them down here while it keeps serving."),
    table(
      "Nodes (compute services)",
      [
        ["Host", (s) => s.host],
        ["Zone", (s) => s.zone],
        ["State", (s) => h("span", { class: `status status-${s.state}` }, s.state)],
        ["Status", (s) => s.status],
        ["Last heard", (s) => s.updated_at ?? "never"],
      ],
      services,
    ),
  );
}
