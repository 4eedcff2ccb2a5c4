// Volumes: create, attach to a server / detach, snapshots, delete.
import { api } from "../api.js";
import { busy, field, formValues, h, select, status, table } from "../dom.js";
import { confirmButton } from "./servers.js";

export async function volumesView(main) {
  const list = h("div");
  async function refresh() {
    const [volumes, snapshots, servers] = await Promise.all([
      api("GET", "/volume/v3/volumes/detail").then((r) => r.volumes),
      api("GET", "/volume/v3/snapshots/detail").then((r) => r.snapshots),
      api("GET", "/compute/v2.1/servers").then((r) => r.servers),
    ]);
    const attachTo = (v) => {
      const sel = select("server", servers.map((s) => [s.id, s.name]), { "aria-label": `server to attach ${v.name || v.id} to` });
      const go = h("button", { type: "button" }, "Attach");
      go.addEventListener("click", () => busy(go, "Attaching…", () => api("POST", `/compute/v2.1/servers/${sel.value}/os-volume_attachments`, { volumeAttachment: { volumeId: v.id } }).then(refresh)));
      return servers.length ? h("span", { class: "actions" }, sel, go) : "";
    };
    const actions = (v) =>
      h(
        "span",
        { class: "actions" },
        v.status === "available" && attachTo(v),
        v.status === "in-use" &&
          v.attachments.map((a) => {
            const b = h("button", { type: "button" }, "Detach");
            b.addEventListener("click", () => busy(b, "Detaching…", () => api("DELETE", `/compute/v2.1/servers/${a.server_id}/os-volume_attachments/${v.id}`).then(refresh)));
            return b;
          }),
        (v.status === "available" || v.status === "in-use") && h("button", { type: "button", onclick: (e) => busy(e.currentTarget, "Snapshotting…", () => api("POST", "/volume/v3/snapshots", { snapshot: { volume_id: v.id, name: `${v.name || v.id}-snap`, force: v.status === "in-use" } }).then(refresh)) }, "Snapshot"),
        v.status === "available" && confirmButton("Delete", () => api("DELETE", `/volume/v3/volumes/${v.id}`).then(refresh)),
      );
    list.replaceChildren(
      table(
        "Volumes",
        [
          ["Name", (v) => v.name || v.id],
          ["Size", (v) => `${v.size} GiB`],
          ["Status", (v) => h("span", { class: `status status-${v.status}` }, v.status)],
          ["Attached to", (v) => v.attachments.map((a) => servers.find((s) => s.id === a.server_id)?.name ?? a.server_id).join(", ")],
          ["Actions", actions],
        ],
        volumes,
      ),
      table(
        "Snapshots",
        [
          ["Name", (s) => s.name || s.id],
          ["Volume", (s) => volumes.find((v) => v.id === s.volume_id)?.name || s.volume_id],
          ["Size", (s) => `${s.size} GiB`],
          ["Status", (s) => h("span", { class: `status status-${s.status}` }, s.status)],
          ["Actions", (s) => confirmButton("Delete", () => api("DELETE", `/volume/v3/snapshots/${s.id}`).then(refresh))],
        ],
        snapshots,
      ),
    );
  }
  const form = h("form", { class: "inline-form", "aria-label": "Create volume" }, field("Name", h("input", { name: "name" })), field("Size (GiB)", h("input", { name: "size", type: "number", min: 1, value: 1, required: true })), h("button", { type: "submit", class: "primary" }, "Create volume"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const r = await busy(form.querySelector("button"), "Creating…", () => api("POST", "/volume/v3/volumes", { volume: { name: v.name || undefined, size: Number(v.size) } }));
    if (r) {
      status(`Volume ${r.volume.name || r.volume.id} is being created.`);
      await refresh();
    }
  });
  main.append(h("h2", {}, "Volumes"), h("section", { class: "panel" }, h("h3", {}, "Create a volume"), form), list);
  await refresh();
  const timer = window.setInterval(() => list.querySelector("button:disabled, [data-armed]") || refresh().catch((err) => status(err.message, "error")), 4000);
  return () => window.clearInterval(timer);
}
