// The dashboard shell: login, the header (project switcher, log out), the section nav and a hash router
// (#/servers, #/admin/hosts, …). A view is a function (main element) => optional cleanup (e.g. its
// polling timer), called again on every navigation.
import { api, isAdmin, login, logout, rescope, session } from "./api.js";
import { busy, field, h, status } from "./dom.js";
import { serversView } from "./views/servers.js";
import { imagesView } from "./views/images.js";
import { volumesView } from "./views/volumes.js";
import { networksView } from "./views/networks.js";
import { securityGroupsView } from "./views/security-groups.js";
import { keypairsView } from "./views/keypairs.js";
import { quotasView } from "./views/quotas.js";
import { hostsView, identityView, flavorsView, meshView } from "./views/admin.js";

const TENANT = [
  ["servers", "Servers", serversView],
  ["images", "Images", imagesView],
  ["volumes", "Volumes", volumesView],
  ["networks", "Networks", networksView],
  ["security-groups", "Security groups", securityGroupsView],
  ["keypairs", "Key pairs", keypairsView],
  ["quotas", "Quotas", quotasView],
];
const ADMIN = [
  ["admin/hosts", "Hosts", hostsView],
  ["admin/identity", "Projects & users", identityView],
  ["admin/flavors", "Flavors", flavorsView],
  ["admin/mesh", "Mesh", meshView],
];

let cleanup;

function loginView(main) {
  const form = h(
    "form",
    { "aria-label": "Log in" },
    field("User", h("input", { name: "user", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    field("Project (optional)", h("input", { name: "project" })),
    h("button", { type: "submit", class: "primary" }, "Log in"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form).entries());
    const ok = await busy(form.querySelector("button"), "Logging in…", () => login(v.user, v.password, v.project || undefined));
    if (ok) {
      status("");
      location.hash = "#/servers";
    }
  });
  main.append(h("section", { class: "login panel" }, h("h2", {}, "Log in to peerstack"), form));
  form.querySelector("input").focus();
}

async function header() {
  const s = session();
  const signedIn = Boolean(s);
  document.getElementById("logout").hidden = !signedIn;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("project-label").hidden = !signedIn;
  document.getElementById("user").textContent = signedIn ? `${s.user.name}${isAdmin() ? " (admin)" : ""}` : "";
  const nav = document.getElementById("nav");
  nav.replaceChildren(...TENANT.map(([r, t]) => h("a", { href: `#/${r}` }, t)), ...(isAdmin() ? [h("span", { class: "sep", "aria-hidden": "true" }), ...ADMIN.map(([r, t]) => h("a", { href: `#/${r}` }, t))] : []));
  if (!signedIn) return;
  const sel = document.getElementById("project");
  const projects = (await api("GET", "/identity/v3/auth/projects").catch(() => ({ projects: [] }))).projects;
  sel.replaceChildren(...projects.map((p) => h("option", { value: p.id, selected: p.id === s.project?.id }, p.name)));
}

async function route() {
  cleanup?.();
  cleanup = undefined;
  const main = document.getElementById("view");
  main.replaceChildren();
  const path = location.hash.replace(/^#\/?/, "") || "servers";
  if (!session()) {
    await header();
    return loginView(main);
  }
  await header();
  for (const a of document.querySelectorAll("nav a")) a.setAttribute("aria-current", a.getAttribute("href") === `#/${path}` ? "page" : "false");
  const admin = ADMIN.find(([r]) => r === path);
  if (admin && !isAdmin()) {
    main.append(h("section", { class: "panel" }, h("h2", {}, "Not allowed"), h("p", {}, "This page needs the admin role in the current project.")));
    return;
  }
  const view = (admin ?? TENANT.find(([r]) => r === path) ?? TENANT[0])[2];
  try {
    cleanup = await view(main);
  } catch (err) {
    status(err.message, "error");
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  cleanup?.(); // the open view's polling stops before its token is revoked
  cleanup = undefined;
  await logout();
  location.hash = "#/login";
  void route();
});
document.getElementById("project").addEventListener("change", async (e) => {
  await busy(document.getElementById("logout"), "Switching…", () => rescope(e.target.value));
  void route();
});
fetch("/healthz")
  .then((r) => r.json())
  .then((n) => (document.getElementById("node").textContent = `node ${n.name}`))
  .catch(() => {});
window.addEventListener("hashchange", () => void route());
void route();
