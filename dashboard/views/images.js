// Images: list, upload (create the record, then PUT the bits with a progress bar), delete.
import { api, session } from "../api.js";
import { busy, field, formValues, h, select, status, table } from "../dom.js";
import { confirmButton } from "./servers.js";

const size = (n) => (n == null ? "" : n > 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

/** PUT the file with XMLHttpRequest: fetch has no upload progress. */
function upload(id, file, progress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", `/image/v2/images/${id}/file`);
    x.setRequestHeader("x-auth-token", session().token);
    x.setRequestHeader("content-type", "application/octet-stream");
    x.upload.onprogress = (e) => e.lengthComputable && (progress.value = Math.round((e.loaded / e.total) * 100));
    x.onload = () => (x.status < 300 ? resolve() : reject(new Error(`upload of ${file.name}: ${x.status} ${x.responseText.slice(0, 300)}`)));
    x.onerror = () => reject(new Error(`upload of ${file.name}: the connection failed`));
    x.send(file);
  });
}

export async function imagesView(main) {
  const list = h("div");
  async function refresh() {
    const images = (await api("GET", "/image/v2/images")).images;
    list.replaceChildren(
      table(
        "Images",
        [
          ["Name", (i) => i.name],
          ["Status", (i) => h("span", { class: `status status-${i.status}` }, i.status)],
          ["Format", (i) => i.disk_format ?? ""],
          ["Size", (i) => size(i.size)],
          ["Visibility", (i) => i.visibility],
          ["Actions", (i) => (i.owner === session().project?.id ? confirmButton("Delete", () => api("DELETE", `/image/v2/images/${i.id}`).then(refresh)) : "")],
        ],
        images,
      ),
    );
  }
  const progress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "upload progress" });
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Upload image" },
    field("Name", h("input", { name: "name", required: true })),
    field("Disk format", select("disk_format", ["qcow2", "raw", "iso", "vmdk", "vdi"].map((f) => [f, f]))),
    field("File", h("input", { name: "file", type: "file", required: true })),
    h("button", { type: "submit", class: "primary" }, "Upload"),
    progress,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    await busy(form.querySelector("button"), "Uploading…", async () => {
      const img = await api("POST", "/image/v2/images", { name: v.name, disk_format: v.disk_format, container_format: "bare", visibility: "private" });
      progress.hidden = false;
      progress.value = 0;
      await upload(img.id, v.file, progress);
      status(`Image ${v.name} uploaded.`);
      form.reset();
      await refresh();
    });
    progress.hidden = true;
  });
  main.append(h("h2", {}, "Images"), h("section", { class: "panel" }, h("h3", {}, "Upload an image"), form), list);
  await refresh();
}
