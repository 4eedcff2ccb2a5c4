// Servers: list with live status (polled every 3 s while the page is open), create, start/stop/reboot/
// delete, console log.
import { api } from "../api.js";
import { busy, field, formValues, h, select, status, table } from "../dom.js";

const nova = (path, method = "GET", body) => api(method, `/compute/v2.1${path}`, body);
const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const addresses = (s) =>
  Object.entries(s.addresses ?? {})
    .map(([net, list]) => `${net}: ${list.map((a) => a.addr).join(", ")}`)
    .join("; ");

/** A destructive button: the first click arms it ("Confirm …"), the second within 5 s acts. */
export function confirmButton(text, action) {
  let armed = false;
  const b = h("button", { type: "button", class: "danger" }, text);
  b.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      b.dataset.armed = "1";
      b.textContent = `Confirm ${text.toLowerCase()}`;
      window.setTimeout(() => {
        armed = false;
        delete b.dataset.armed;
        b.textContent = text;
      }, 5000);
      return;
    }
    armed = false;
    delete b.dataset.armed;
    await busy(b, `${text}…`, action);
  });
  return b;
}

async function createForm(refresh) {
  const [flavors, images, networks, keys, groups] = await Promise.all([
    nova("/flavors/detail").then((r) => r.flavors),
    api("GET", "/image/v2/images").then((r) => r.images.filter((i) => i.status === "active")),
    api("GET", "/networking/v2.0/networks").then((r) => r.networks),
    nova("/os-keypairs").then((r) => r.keypairs.map((k) => k.keypair)),
    api("GET", "/networking/v2.0/security-groups").then((r) => r.security_groups),
  ]);
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Create server" },
    field("Name", h("input", { name: "name", required: true })),
    field("Flavor", select("flavor", flavors.map((f) => [f.id, `${f.name} (${f.vcpus} vCPU, ${f.ram} MiB, ${f.disk} GB)`]))),
    field("Image", select("image", images.map((i) => [i.id, i.name]))),
    field("Network", select("network", [["", "(none)"], ...networks.map((n) => [n.id, n.name])])),
    field("Key pair", select("key", [["", "(none)"], ...keys.map((k) => [k.name, k.name])])),
    field("Security group", select("group", [["", "(default)"], ...groups.map((g) => [g.name, g.name])])),
    field("User data", h("textarea", { name: "user_data", rows: 2 })),
    h("button", { type: "submit", class: "primary" }, "Create server"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const server = { name: v.name, flavorRef: v.flavor, imageRef: v.image, networks: v.network ? [{ uuid: v.network }] : "none" };
    if (v.key) server.key_name = v.key;
    if (v.group) server.security_groups = [{ name: v.group }];
    if (v.user_data) server.user_data = b64(v.user_data);
    const r = await busy(form.querySelector("button[type=submit]"), "Creating…", () => nova("/servers", "POST", { server }));
    if (r) {
      status(`Server ${v.name} accepted (${r.server.id}); it shows BUILD until its host has it running.`);
      form.reset();
      await refresh();
    }
  });
  return h("section", { class: "panel" }, h("h3", {}, "Create a server"), form);
}

export async function serversView(main) {
  const list = h("div");
  const consoleBox = h("section", { class: "panel", hidden: true });
  const action = (id, body) => nova(`/servers/${id}/action`, "POST", body);
  let consoleOf; // the server whose console log is open: refreshed with the list
  async function showConsole(s) {
    consoleOf = s;
    const r = await action(s.id, { "os-getConsoleOutput": { length: 200 } });
    if (consoleOf !== s) return;
    consoleBox.hidden = false;
    consoleBox.replaceChildren(h("h3", {}, `Console log of ${s.name}`), h("pre", { class: "console", tabindex: 0, "aria-label": `console log of ${s.name}` }, r.output));
  }
  const btn = (text, s, run) => h("button", { type: "button", onclick: (e) => busy(e.currentTarget, `${text}…`, run).then(refresh) }, text);
  async function refresh() {
    const servers = (await nova("/servers/detail")).servers;
    list.replaceChildren(
      table(
        "Servers",
        [
          ["Name", (s) => s.name],
          ["Status", (s) => h("span", { class: `status status-${s.status}` }, s.status + (s["OS-EXT-STS:task_state"] ? ` (${s["OS-EXT-STS:task_state"]})` : ""))],
          ["Host", (s) => s["OS-EXT-SRV-ATTR:host"] ?? s["OS-EXT-AZ:availability_zone"] ?? ""],
          ["Addresses", addresses],
          [
            "Actions",
            (s) =>
              h(
                "span",
                { class: "actions" },
                s.status === "SHUTOFF" && btn("Start", s, () => action(s.id, { "os-start": null })),
                s.status === "ACTIVE" && btn("Stop", s, () => action(s.id, { "os-stop": null })),
                s.status === "ACTIVE" && btn("Reboot", s, () => action(s.id, { reboot: { type: "SOFT" } })),
                h("button", { type: "button", onclick: (e) => busy(e.currentTarget, "Loading…", () => showConsole(s)) }, "Console log"),
                confirmButton("Delete", () => nova(`/servers/${s.id}`, "DELETE").then(refresh)),
              ),
          ],
        ],
        servers,
        "No servers in this project yet.",
      ),
    );
    if (consoleOf) await showConsole(servers.find((x) => x.id === consoleOf.id) ?? consoleOf).catch(() => {});
  }
  main.append(h("h2", {}, "Servers"), list, consoleBox);
  await refresh();
  main.insertBefore(await createForm(refresh), list);
  // A tick is skipped while a row's button is busy or armed, so the table does not change under the user.
  const timer = window.setInterval(() => list.querySelector("button:disabled, [data-armed]") || refresh().catch((err) => status(err.message, "error")), 3000);
  return () => window.clearInterval(timer);
}
