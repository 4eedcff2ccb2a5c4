// DOM helpers. Every value from the API goes in as text (textContent / attributes), never as HTML, so a
// server or image named "<img onerror=…>" is shown as those characters.

/** h("button", { class: "x", onclick }, "text", child…): an element; null/false children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A table with a caption; `cols` = [[heading, row => cell]]. */
export function table(caption, cols, rows, empty = "None yet.") {
  if (!rows.length) return h("section", { class: "panel" }, h("h3", {}, caption), h("p", { class: "empty" }, empty));
  return h(
    "section",
    { class: "panel" },
    h("table", {}, h("caption", {}, caption), h("thead", {}, h("tr", {}, cols.map(([t]) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows.map((r) => h("tr", { dataset: { id: r.id ?? "" } }, cols.map(([, f]) => h("td", {}, f(r))))))),
  );
}

/** A labelled form field: a label wrapping its control, so screen readers name every input. */
export function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

export function select(name, options, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([value, text]) => h("option", { value }, text)));
}

/** A usage bar: used of total, with the numbers as text beside it. */
export function bar(label, used, total) {
  const unlimited = total < 0;
  const pct = unlimited || total === 0 ? 0 : Math.min(100, Math.round((used / total) * 100));
  return h(
    "div",
    { class: "bar-row" },
    h("span", { class: "bar-label" }, label),
    h("progress", { max: 100, value: pct, "aria-label": `${label}: ${used} of ${unlimited ? "unlimited" : total}` }),
    h("span", { class: "bar-text" }, `${used} / ${unlimited ? "∞" : total}`),
  );
}

/** Runs a long action with the button disabled and its label showing progress; errors go to the status line. */
export async function busy(button, text, action) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  try {
    return await action();
  } catch (err) {
    status(err.message, "error");
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

/** The status line (an aria-live region): the API's own message on errors. */
export function status(message, kind = "info") {
  const el = document.getElementById("status");
  el.textContent = message;
  el.className = kind;
}

export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}
