// Stations (送水站): service area (districts), phone, opening hours per weekday and on holidays.
import { api, el, fill, showError, t, toast } from "../console.js";
import { button, card, form, may, root, setChecks, table, yesNo } from "./common.js";

const canEdit = may("stations.write");
const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6, 7];
let districts = [];
let stations = [];
let editing = null; // the station whose form is shown (null: a new one)

const listBox = el("div", { id: "station-list" });
const formBox = el("div", { id: "station-form-box" });
fill(root, card(t("admin.stations.list"), [button(t("admin.stations.new"), () => openForm(null), "primary", { id: "station-new", hidden: !canEdit })], listBox),
  formBox);

function cities() {
  return [...new Set(districts.map((d) => d.city))];
}

function districtOptions(city) {
  return districts.filter((d) => d.city === city).map((d) => [d.name, d.name]);
}

function hoursText(hours) {
  if (!hours.length) return t("admin.stations.always_open");
  const byDay = Object.fromEntries(hours.map((h) => [h.weekday, `${h.opens.slice(0, 5)}–${h.closes.slice(0, 5)}`]));
  const week = [0, 1, 2, 3, 4, 5, 6].map((d) => byDay[d] || t("admin.stations.closed"));
  const same = week.every((v) => v === week[0]);
  const text = same ? t("admin.stations.daily", { hours: week[0] }) : week.map((v, d) => `${t(`admin.weekday.${d}`)} ${v}`).join("，");
  return byDay[7] ? `${text}；${t("admin.weekday.7")} ${byDay[7]}` : text;
}

async function load() {
  stations = await api("/api/stations");
  fill(listBox, table([
    { label: t("admin.stations.name"), value: (s) => el("strong", {}, s.name) },
    { label: t("admin.stations.district"), value: (s) => `${s.city} ${s.district}` },
    { label: t("admin.stations.service"), value: (s) => s.service_districts.join("、") },
    { label: t("admin.stations.phone"), value: (s) => s.phone || "—" },
    { label: t("admin.stations.hours"), value: (s) => hoursText(s.hours) },
    { label: t("admin.stations.active"), value: (s) => yesNo(s.active, t("admin.active"), t("admin.inactive")) },
    { label: "", value: (s) => canEdit ? button(t("admin.edit"), () => openForm(s), "ghost") : "" },
  ], stations, { id: "station-table", rowId: (s) => s.id }));
}

function hoursEditor(hours) {
  const byDay = Object.fromEntries(hours.map((h) => [h.weekday, h]));
  const grid = el("div", { class: "admin-hours", id: "station-hours" },
    el("span", {}, ""), el("span", { class: "wl-muted" }, t("admin.stations.opens")),
    el("span", { class: "wl-muted" }, t("admin.stations.closes")), el("span", { class: "wl-muted" }, t("admin.stations.closed")));
  for (const day of WEEKDAYS) {
    const h = byDay[day];
    const closed = el("input", { type: "checkbox", dataset: { day: String(day), part: "closed" } });
    closed.checked = hours.length > 0 && !h && day !== 7;
    grid.append(el("span", {}, t(`admin.weekday.${day}`)),
      el("input", { type: "time", value: h ? h.opens.slice(0, 5) : (day === 7 && hours.length ? "" : "08:00"), dataset: { day: String(day), part: "opens" } }),
      el("input", { type: "time", value: h ? h.closes.slice(0, 5) : (day === 7 && hours.length ? "" : "20:00"), dataset: { day: String(day), part: "closes" } }),
      closed);
  }
  return grid;
}

function readHours(grid) {
  const hours = [];
  for (const day of WEEKDAYS) {
    const get = (part) => grid.querySelector(`[data-day="${day}"][data-part="${part}"]`);
    if (get("closed").checked) continue;
    const opens = get("opens").value, closes = get("closes").value;
    if (!opens || !closes) continue; // holidays without hours follow Sunday
    hours.push({ weekday: day, opens, closes });
  }
  return hours;
}

function openForm(station) {
  editing = station;
  const city = station ? station.city : cities()[0];
  const fields = [
    { name: "name", label: t("admin.stations.name"), required: true, value: station ? station.name : "" },
    { name: "city", label: t("admin.stations.city"), type: "select", options: cities().map((c) => [c, c]), value: city },
    { name: "district", label: t("admin.stations.district"), type: "select", options: districtOptions(city), value: station ? station.district : undefined },
    { name: "phone", label: t("admin.stations.phone"), value: station ? station.phone : "", placeholder: "029-88886666" },
    { name: "active", label: t("admin.stations.active"), type: "checkbox", value: station ? station.active : true },
    { name: "service_districts", label: t("admin.stations.service"), type: "checks", options: districtOptions(city), value: station ? station.service_districts : [] },
  ];
  const hours = hoursEditor(station ? station.hours : []);
  const node = form(fields, {
    id: "station-form",
    submitLabel: station ? t("shell.save") : t("admin.stations.create"),
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (values) => {
      const body = { name: values.name, phone: values.phone, active: values.active, hours: readHours(hours), service_districts: values.service_districts };
      try {
        if (station) {
          await api(`/api/stations/${station.id}`, { method: "PATCH", body });
        } else {
          const centre = districts.find((d) => d.city === values.city && d.name === values.district);
          await api("/api/stations", { method: "POST", body: { ...body, city: values.city, district: values.district, lat: centre.lat, lon: centre.lon } });
        }
        toast(t("admin.saved"), "ok");
        fill(formBox);
        await load();
      } catch (error) {
        showError(error);
      }
    },
  });
  // hours before the buttons
  node.insertBefore(el("div", { class: "wl-field wide" }, el("span", {}, t("admin.stations.hours_help")), hours), node.querySelector(".wl-actions"));
  const citySelect = node.elements.namedItem("city");
  const districtSelect = node.elements.namedItem("district");
  if (station) {
    citySelect.disabled = true;
    districtSelect.disabled = true;
  }
  citySelect.addEventListener("change", () => {
    fill(districtSelect, districtOptions(citySelect.value).map(([v, l]) => el("option", { value: v }, l)));
    setChecks(node, "service_districts", districtOptions(citySelect.value), []);
  });
  fill(formBox, card(station ? t("admin.stations.edit", { name: station.name }) : t("admin.stations.new"), [], node));
  node.elements.namedItem("name").focus();
}

try {
  districts = await api("/api/regions/districts");
  await load();
} catch (error) {
  showError(error);
}
