// Key pairs: list, import a public key or generate one (the private key is shown once, to save).
import { api } from "../api.js";
import { busy, field, formValues, h, table } from "../dom.js";
import { confirmButton } from "./servers.js";

export async function keypairsView(main) {
  const list = h("div");
  const secret = h("section", { class: "panel", hidden: true });
  async function refresh() {
    const keys = (await api("GET", "/compute/v2.1/os-keypairs")).keypairs.map((k) => k.keypair);
    list.replaceChildren(table("Key pairs", [["Name", (k) => k.name], ["Fingerprint", (k) => k.fingerprint], ["Actions", (k) => confirmButton("Delete", () => api("DELETE", `/compute/v2.1/os-keypairs/${encodeURIComponent(k.name)}`).then(refresh))]], keys));
  }
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Create key pair" },
    field("Name", h("input", { name: "name", required: true })),
    field("Public key (empty: generate one)", h("textarea", { name: "public_key", rows: 2 })),
    h("button", { type: "submit", class: "primary" }, "Create key pair"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const r = await busy(form.querySelector("button"), "Creating…", () => api("POST", "/compute/v2.1/os-keypairs", { keypair: { name: v.name, ...(v.public_key ? { public_key: v.public_key.trim() } : {}) } }));
    if (!r) return;
    if (r.keypair.private_key) {
      const url = URL.createObjectURL(new Blob([r.keypair.private_key], { type: "application/x-pem-file" }));
      secret.hidden = false;
      secret.replaceChildren(h("h3", {}, `Private key of ${r.keypair.name} (shown once)`), h("a", { href: url, download: `${r.keypair.name}.pem` }, `Download ${r.keypair.name}.pem`));
    }
    form.reset();
    await refresh();
  });
  main.append(h("h2", {}, "Key pairs"), h("section", { class: "panel" }, h("h3", {}, "Add a key pair"), form), secret, list);
  await refresh();
}
