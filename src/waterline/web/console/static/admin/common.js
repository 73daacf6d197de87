// Shared pieces of the administration pages: permission check, cards, tables, forms.
import { client, el, fill, t } from "../console.js";

/** True when the page said the user may do `permission` (e.g. "flows.manage"). */
export function may(permission) {
  return (client.may || []).includes(permission);
}

/** The page's root element. */
export const root = document.getElementById("admin-root");

/** A card with a title, optional header extras and a body. */
export function card(title, headerExtras = [], ...body) {
  return el("section", { class: "wl-card" },
    el("header", {}, el("h2", {}, title), ...headerExtras),
    ...body);
}

/**
 * A table: `columns` are {label, value: row => text|Node, num?, class?}; `rows` the data.
 * `onRow(row, tr)` (optional) is called for each row to add behaviour; empty data shows a note.
 */
export function table(columns, rows, { onRow, id, rowId } = {}) {
  const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null }, c.label)));
  const body = el("tbody");
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: String(columns.length), class: "wl-muted admin-none" }, t("shell.empty"))));
  }
  for (const row of rows) {
    const tr = el("tr", { dataset: rowId ? { id: String(rowId(row)) } : {} },
      columns.map((c) => el("td", { class: [c.num ? "num" : "", c.class || ""].join(" ").trim() || null }, c.value(row))));
    if (onRow) onRow(row, tr);
    body.append(tr);
  }
  return el("div", { class: "wl-table-wrap" }, el("table", { class: "wl-table", id: id || null }, el("thead", {}, head), body));
}

/**
 * A form from field specs: {name, label, type (text, number, password, select, checkbox, textarea,
 * time, date, file), options: [[value, label]], value, required, wide, placeholder, step, min}.
 * `onSubmit(values, form)` gets the values keyed by name (numbers as numbers, checkboxes as booleans,
 * files as File); the submit button is disabled while it runs.
 */
export function form(fields, { submitLabel, onSubmit, id, extraButtons = [] } = {}) {
  const node = el("form", { class: "wl-form", id: id || null, novalidate: true });
  for (const f of fields) node.append(field(f));
  const submit = el("button", { class: "wl-btn primary", type: "submit" }, submitLabel || t("shell.save"));
  node.append(el("div", { class: "wl-actions" }, ...extraButtons, submit));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    const missing = fields.filter((f) => f.required && !String(readField(node, f) ?? "").trim());
    for (const f of fields) {
      const input = node.elements.namedItem(f.name);
      if (input && input.setAttribute) input.setAttribute("aria-invalid", missing.includes(f) ? "true" : "false");
    }
    if (missing.length) {
      node.elements.namedItem(missing[0].name)?.focus?.();
      return;
    }
    const values = {};
    for (const f of fields) values[f.name] = readField(node, f);
    submit.disabled = true;
    try {
      await onSubmit(values, node);
    } finally {
      submit.disabled = false;
    }
  });
  return node;
}

function field(f) {
  const attrs = { name: f.name, id: f.id || `f-${f.name}`, required: !!f.required, placeholder: f.placeholder || null };
  let input;
  if (f.type === "select") {
    input = el("select", attrs, (f.options || []).map(([value, label]) => el("option", { value: String(value) }, label)));
    if (f.value !== undefined && f.value !== null) input.value = String(f.value);
  } else if (f.type === "textarea") {
    input = el("textarea", { ...attrs, rows: String(f.rows || 3) });
    input.value = f.value ?? "";
  } else if (f.type === "checkbox") {
    input = el("input", { ...attrs, type: "checkbox", class: "admin-check" });
    input.checked = !!f.value;
    return el("label", { class: "wl-field admin-inline" + (f.wide ? " wide" : "") }, input, el("span", {}, f.label));
  } else if (f.type === "checks") {
    const box = el("div", { class: "admin-checks", id: attrs.id, dataset: { name: f.name } });
    for (const [value, label] of f.options || []) {
      const check = el("input", { type: "checkbox", value: String(value), name: `${f.name}[]` });
      check.checked = (f.value || []).includes(value);
      box.append(el("label", { class: "admin-check-item" }, check, label));
    }
    return el("div", { class: "wl-field wide" }, el("span", {}, f.label), box);
  } else {
    input = el("input", { ...attrs, type: f.type || "text", step: f.step || null, min: f.min ?? null, accept: f.accept || null });
    if (f.type !== "file") input.value = f.value ?? "";
  }
  return el("label", { class: "wl-field" + (f.wide ? " wide" : "") }, el("span", {}, f.label + (f.required ? " *" : "")), input);
}

function readField(node, f) {
  if (f.type === "checks") {
    return [...node.querySelectorAll(`input[name="${f.name}[]"]:checked`)].map((i) => i.value);
  }
  const input = node.elements.namedItem(f.name);
  if (!input) return null;
  if (f.type === "checkbox") return input.checked;
  if (f.type === "file") return input.files && input.files[0] ? input.files[0] : null;
  if (f.type === "number") return input.value === "" ? null : Number(input.value);
  return input.value;
}

/** Replace the checkbox group `name` in `formNode` with `options`, keeping what stays checked. */
export function setChecks(formNode, name, options, checked = []) {
  const box = formNode.querySelector(`.admin-checks[data-name="${name}"]`);
  if (!box) return;
  fill(box, options.map(([value, label]) => {
    const check = el("input", { type: "checkbox", value: String(value), name: `${name}[]` });
    check.checked = checked.includes(value);
    return el("label", { class: "admin-check-item" }, check, label);
  }));
}

/** A yes/no tag. */
export function yesNo(value, yes, no) {
  return el("span", { class: `wl-tag ${value ? "ok" : "warn"}` }, value ? yes : no);
}

/** A small button. */
export function button(label, onclick, kind = "", attrs = {}) {
  return el("button", { class: `wl-btn small ${kind}`.trim(), type: "button", onclick, ...attrs }, label);
}
