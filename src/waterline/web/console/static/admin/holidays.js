// Holiday overrides (节假日调整): days off and make-up workdays (调休) the calendar package lacks.
import { api, el, fill, showError, t, toast, when } from "../console.js";
import { button, card, root } from "./common.js";

const body = el("tbody", { id: "holiday-rows" });
const saveButton = button(t("admin.holidays.save"), () => save(), "primary", { id: "holiday-save" });
fill(root, card(t("admin.holidays.list"), [button(t("admin.holidays.add"), () => addRow(), "", { id: "holiday-add" }), saveButton],
  el("p", { class: "wl-muted admin-note" }, t("admin.holidays.help")),
  el("div", { class: "wl-table-wrap" }, el("table", { class: "wl-table", id: "holiday-table" },
    el("thead", {}, el("tr", {}, el("th", {}, t("admin.holidays.day")), el("th", {}, t("admin.holidays.kind")),
      el("th", {}, t("admin.holidays.note")), el("th", {}, t("admin.holidays.updated")), el("th", {}, ""))),
    body))));

function addRow(override = null) {
  const day = el("input", { type: "date", class: "wl-input", value: override ? override.day : "", "aria-label": t("admin.holidays.day") });
  const kind = el("select", { class: "wl-input", "aria-label": t("admin.holidays.kind") },
    el("option", { value: "off" }, t("admin.holidays.day_off")), el("option", { value: "work" }, t("admin.holidays.workday")));
  kind.value = override && override.is_workday ? "work" : "off";
  const note = el("input", { type: "text", class: "wl-input", value: override ? override.note : "", maxlength: "255", placeholder: t("admin.holidays.note_example"), "aria-label": t("admin.holidays.note") });
  const row = el("tr", { class: "holiday-row" },
    el("td", {}, day), el("td", {}, kind), el("td", {}, note),
    el("td", { class: "wl-muted" }, override ? when(override.updated_at, true) : t("admin.holidays.unsaved")),
    el("td", {}, button(t("admin.holidays.remove"), () => row.remove(), "danger")));
  body.append(row);
  if (!override) day.focus();
}

async function save() {
  const rows = [...body.querySelectorAll("tr.holiday-row")].map((row) => {
    const [day, kind, note] = row.querySelectorAll("input, select");
    return { day: day.value, is_workday: kind.value === "work", note: note.value.trim() };
  }).filter((r) => r.day);
  saveButton.disabled = true;
  try {
    const saved = await api("/api/holidays/overrides", { method: "PUT", body: rows });
    toast(t("admin.holidays.saved", { count: saved.length }), "ok");
    render(saved);
  } catch (error) {
    showError(error);
  } finally {
    saveButton.disabled = false;
  }
}

function render(overrides) {
  fill(body);
  overrides.forEach((o) => addRow(o));
}

api("/api/holidays/overrides").then(render).catch(showError);
