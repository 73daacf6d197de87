// Couriers (送水员): station, mobile, capacity per trip, on/off duty, current load.
import { api, el, fill, showError, t, toast } from "../console.js";
import { button, card, form, may, root, table, yesNo } from "./common.js";

const canEdit = may("couriers.write");
const listBox = el("div", { id: "courier-list" });
const formBox = el("div", { id: "courier-form-box" });
const stationFilter = el("select", { class: "wl-input admin-select", id: "courier-station-filter", "aria-label": t("admin.couriers.station") });
fill(root, card(t("admin.couriers.list"), [stationFilter, button(t("admin.couriers.new"), () => openForm(null), "primary", { id: "courier-new", hidden: !canEdit })], listBox), formBox);
let stations = [];
const stationName = (id) => (stations.find((s) => s.id === id) || {}).name || `#${id}`;

async function load() {
  const couriers = await api("/api/couriers", { query: { station_id: stationFilter.value } });
  fill(listBox, table([
    { label: t("admin.couriers.name"), value: (c) => el("strong", {}, c.name) },
    { label: t("admin.couriers.station"), value: (c) => stationName(c.station_id) },
    { label: t("admin.couriers.mobile"), value: (c) => el("span", { class: "wl-mono" }, c.mobile) },
    { label: t("admin.couriers.capacity"), num: true, value: (c) => String(c.capacity_per_trip) },
    { label: t("admin.couriers.load"), num: true, value: (c) => t("admin.couriers.load_value", { load: c.load, orders: c.active_orders }) },
    { label: t("admin.couriers.duty"), value: (c) => yesNo(c.on_duty, t("admin.couriers.on_duty"), t("admin.couriers.off_duty")) },
    { label: "", value: (c) => canEdit ? el("div", { class: "admin-row-actions" },
      button(c.on_duty ? t("admin.couriers.go_off") : t("admin.couriers.go_on"), () => duty(c, !c.on_duty), "ghost"),
      button(t("admin.edit"), () => openForm(c), "ghost")) : "" },
  ], couriers, { id: "courier-table", rowId: (c) => c.id }));
}

async function duty(courier, onDuty) {
  try {
    await api(`/api/couriers/${courier.id}/duty`, { method: "POST", body: { on_duty: onDuty } });
    await load();
  } catch (error) {
    showError(error);
  }
}

function openForm(courier) {
  const node = form([
    { name: "station_id", label: t("admin.couriers.station"), type: "select", options: stations.map((s) => [s.id, s.name]), value: courier ? courier.station_id : stationFilter.value || undefined },
    { name: "name", label: t("admin.couriers.name"), required: true, value: courier ? courier.name : "" },
    { name: "mobile", label: t("admin.couriers.mobile"), required: true, value: courier ? courier.mobile : "", placeholder: "13800000000" },
    { name: "capacity_per_trip", label: t("admin.couriers.capacity"), type: "number", min: 1, value: courier ? courier.capacity_per_trip : 20 },
    { name: "on_duty", label: t("admin.couriers.on_duty"), type: "checkbox", value: courier ? courier.on_duty : true },
  ], {
    id: "courier-form",
    submitLabel: courier ? t("shell.save") : t("admin.couriers.create"),
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (v) => {
      const body = { station_id: Number(v.station_id), name: v.name, mobile: v.mobile, capacity_per_trip: v.capacity_per_trip || 20, on_duty: v.on_duty };
      try {
        if (courier) await api(`/api/couriers/${courier.id}`, { method: "PATCH", body });
        else await api("/api/couriers", { method: "POST", body });
        toast(t("admin.saved"), "ok");
        fill(formBox);
        await load();
      } catch (error) {
        showError(error);
      }
    },
  });
  fill(formBox, card(courier ? t("admin.couriers.edit", { name: courier.name }) : t("admin.couriers.new"), [], node));
  node.elements.namedItem("name").focus();
}

stationFilter.addEventListener("change", () => load().catch(showError));
try {
  stations = await api("/api/stations");
  fill(stationFilter, el("option", { value: "" }, t("admin.couriers.all_stations")), stations.map((s) => el("option", { value: String(s.id) }, s.name)));
  await load();
} catch (error) {
  showError(error);
}
