// Security groups and their rules: create/delete groups, add/delete rules.
import { api } from "../api.js";
import { busy, field, formValues, h, select, table } from "../dom.js";
import { confirmButton } from "./servers.js";

const neutron = (path, method = "GET", body) => api(method, `/networking/v2.0${path}`, body);
const ports = (r) => (r.port_range_min == null ? "any" : r.port_range_min === r.port_range_max ? String(r.port_range_min) : `${r.port_range_min}-${r.port_range_max}`);

function ruleForm(group, refresh) {
  const form = h(
    "form",
    { class: "inline-form", "aria-label": `Add rule to ${group.name}` },
    field("Direction", select("direction", [["ingress", "ingress"], ["egress", "egress"]])),
    field("Protocol", select("protocol", [["tcp", "tcp"], ["udp", "udp"], ["icmp", "icmp"], ["", "any"]])),
    field("Port range", h("input", { name: "ports", placeholder: "22 or 8000-8080", size: 10 })),
    field("Remote IP prefix", h("input", { name: "prefix", placeholder: "0.0.0.0/0", size: 14 })),
    h("button", { type: "submit" }, "Add rule"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const rule = { security_group_id: group.id, direction: v.direction, ethertype: (v.prefix ?? "").includes(":") ? "IPv6" : "IPv4" };
    if (v.protocol) rule.protocol = v.protocol;
    if (v.ports) {
      const [lo, hi] = v.ports.split("-").map(Number);
      rule.port_range_min = lo;
      rule.port_range_max = hi ?? lo;
    }
    if (v.prefix) rule.remote_ip_prefix = v.prefix;
    if (await busy(form.querySelector("button"), "Adding…", () => neutron("/security-group-rules", "POST", { security_group_rule: rule }))) await refresh();
  });
  return form;
}

export async function securityGroupsView(main) {
  const list = h("div");
  async function refresh() {
    const groups = (await neutron("/security-groups")).security_groups;
    const name = (id) => groups.find((g) => g.id === id)?.name ?? id;
    list.replaceChildren(
      ...groups.map((g) =>
        h(
          "div",
          {},
          table(
            `${g.name}${g.description ? ` — ${g.description}` : ""}`,
            [
              ["Direction", (r) => r.direction],
              ["Ether type", (r) => r.ethertype],
              ["Protocol", (r) => r.protocol ?? "any"],
              ["Ports", ports],
              ["Remote", (r) => r.remote_ip_prefix ?? (r.remote_group_id ? `group ${name(r.remote_group_id)}` : "any")],
              ["Actions", (r) => confirmButton("Delete", () => neutron(`/security-group-rules/${r.id}`, "DELETE").then(refresh))],
            ],
            g.security_group_rules ?? [],
            "No rules: all ingress is dropped.",
          ),
          h("section", { class: "panel" }, ruleForm(g, refresh), g.name !== "default" && confirmButton("Delete group", () => neutron(`/security-groups/${g.id}`, "DELETE").then(refresh))),
        ),
      ),
    );
  }
  const form = h("form", { class: "inline-form", "aria-label": "Create security group" }, field("Name", h("input", { name: "name", required: true })), field("Description", h("input", { name: "description" })), h("button", { type: "submit", class: "primary" }, "Create group"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (await busy(form.querySelector("button"), "Creating…", () => neutron("/security-groups", "POST", { security_group: { name: v.name, description: v.description } }))) {
      form.reset();
      await refresh();
    }
  });
  main.append(h("h2", {}, "Security groups"), h("section", { class: "panel" }, h("h3", {}, "Create a security group"), form), list);
  await refresh();
}
