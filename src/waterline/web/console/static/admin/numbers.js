// 400 numbers → flows (号码与流程): which published flow answers each dialled number.
import { api, el, fill, showError, t, toast, when } from "../console.js";
import { button, card, form, may, root, table } from "./common.js";

const canEdit = may("flows.manage");
const listBox = el("div", { id: "number-list" });
const formBox = el("div", { id: "number-form-box" });
fill(root, card(t("admin.numbers.list"), [], el("p", { class: "wl-muted admin-note" }, t("admin.numbers.help")), listBox), formBox);
let flows = [];

const pretty = (did) => (/^400\d{7}$/.test(did) ? `${did.slice(0, 3)}-${did.slice(3, 6)}-${did.slice(6)}` : did);

async function load() {
  const [routes, allFlows] = await Promise.all([api("/api/dids"), api("/api/flows")]);
  flows = allFlows.filter((f) => f.current_version);
  fill(listBox, table([
    { label: t("admin.numbers.did"), value: (r) => el("strong", { class: "wl-mono" }, pretty(r.did)) },
    { label: t("admin.numbers.flow"), value: (r) => canEdit ? flowSelect(r) : r.flow },
    { label: t("admin.numbers.updated"), value: (r) => when(r.updated_at, true) },
    { label: "", value: (r) => canEdit ? button(t("admin.numbers.remove"), () => remove(r), "danger") : "" },
  ], routes, { id: "number-table", rowId: (r) => r.did }));
  if (canEdit) showForm();
}

function flowSelect(route) {
  const select = el("select", { class: "wl-input admin-select", "aria-label": t("admin.numbers.flow") },
    flows.map((f) => el("option", { value: f.name }, `${f.name} (v${f.current_version})`)));
  select.value = route.flow;
  select.addEventListener("change", () => route_(route.did, select.value));
  return select;
}

async function route_(did, flow) {
  try {
    await api(`/api/dids/${encodeURIComponent(did)}`, { method: "PUT", body: { flow } });
    toast(t("admin.numbers.routed", { did: pretty(did), flow }), "ok");
    await load();
  } catch (error) {
    showError(error);
  }
}

async function remove(route) {
  try {
    await api(`/api/dids/${encodeURIComponent(route.did)}`, { method: "DELETE" });
    toast(t("admin.saved"), "ok");
    await load();
  } catch (error) {
    showError(error);
  }
}

function showForm() {
  const node = form([
    { name: "did", label: t("admin.numbers.did"), required: true, placeholder: "400-636-0888" },
    { name: "flow", label: t("admin.numbers.flow"), type: "select", options: flows.map((f) => [f.name, `${f.name} (v${f.current_version})`]) },
  ], { id: "number-form", submitLabel: t("admin.numbers.add"), onSubmit: (v) => route_(v.did.trim(), v.flow) });
  fill(formBox, card(t("admin.numbers.new"), [], node));
}

load().catch(showError);
