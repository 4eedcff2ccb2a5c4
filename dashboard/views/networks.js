// Networks, subnets and ports; create a network with one subnet. Routers and floating IPs appear here
// once the API has them (issue #16).
import { api } from "../api.js";
import { busy, field, formValues, h, status, table } from "../dom.js";
import { confirmButton } from "./servers.js";

const neutron = (path, method = "GET", body) => api(method, `/networking/v2.0${path}`, body);

export async function networksView(main) {
  const list = h("div");
  async function refresh() {
    const [networks, subnets, ports] = await Promise.all([neutron("/networks").then((r) => r.networks), neutron("/subnets").then((r) => r.subnets), neutron("/ports").then((r) => r.ports)]);
    const netName = (id) => networks.find((n) => n.id === id)?.name || id;
    list.replaceChildren(
      table(
        "Networks",
        [
          ["Name", (n) => n.name],
          ["Subnets", (n) => subnets.filter((s) => s.network_id === n.id).map((s) => s.cidr).join(", ")],
          ["Status", (n) => n.status],
          ["Shared", (n) => (n.shared ? "yes" : "no")],
          ["Actions", (n) => confirmButton("Delete", () => neutron(`/networks/${n.id}`, "DELETE").then(refresh))],
        ],
        networks,
      ),
      table(
        "Subnets",
        [
          ["Name", (s) => s.name],
          ["Network", (s) => netName(s.network_id)],
          ["CIDR", (s) => s.cidr],
          ["Gateway", (s) => s.gateway_ip ?? ""],
          ["DHCP", (s) => (s.enable_dhcp ? "on" : "off")],
        ],
        subnets,
      ),
      table(
        "Ports",
        [
          ["Network", (p) => netName(p.network_id)],
          ["MAC", (p) => p.mac_address],
          ["Fixed IPs", (p) => p.fixed_ips.map((f) => f.ip_address).join(", ")],
          ["Device", (p) => p.device_owner || ""],
          ["Status", (p) => p.status],
        ],
        ports,
      ),
    );
  }
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Create network" },
    field("Network name", h("input", { name: "name", required: true })),
    field("Subnet CIDR", h("input", { name: "cidr", placeholder: "192.168.10.0/24", required: true })),
    h("button", { type: "submit", class: "primary" }, "Create network"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const ok = await busy(form.querySelector("button"), "Creating…", async () => {
      const n = (await neutron("/networks", "POST", { network: { name: v.name } })).network;
      await neutron("/subnets", "POST", { subnet: { network_id: n.id, name: `${v.name}-subnet`, cidr: v.cidr, ip_version: v.cidr.includes(":") ? 6 : 4 } });
      return n;
    });
    if (ok) {
      status(`Network ${v.name} created.`);
      form.reset();
      await refresh();
    }
  });
  main.append(h("h2", {}, "Networks"), h("section", { class: "panel" }, h("h3", {}, "Create a network"), form), list);
  await refresh();
}
