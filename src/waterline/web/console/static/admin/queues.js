// Queues and members (队列与坐席): strategy, timeouts, wrap-up, overflow (JSON), members by tier.
import { api, el, fill, showError, t, toast } from "../console.js";
import { button, card, form, may, root, table } from "./common.js";

const canEdit = may("queues.manage");
const STRATEGIES = ["longest-idle", "ring-all", "round-robin", "fewest-calls", "random"];
const PURPOSES = ["orders", "inquiries", "complaints"];
// the fields the form shows; everything else stays in the JSON box
const SIMPLE = ["strategy", "ring_timeout", "retry_seconds", "max_wait", "wrap_up_seconds"];
const listBox = el("div", { id: "queue-list" });
const formBox = el("div", { id: "queue-form-box" });
fill(root, card(t("admin.queues.list"), [button(t("admin.queues.new"), () => openForm(null), "primary", { id: "queue-new", hidden: !canEdit })], listBox), formBox);
let stations = [];
let agents = [];
const stationName = (id) => (stations.find((s) => s.id === id) || {}).name || `#${id}`;
const seconds = (v) => (v === null || v === undefined ? "—" : `${v} s`);

function overflowText(steps) {
  return (steps || []).map((s) => s.queue ? t("admin.queues.to_queue", { queue: s.queue })
    : s.mobile ? t("admin.queues.to_mobile", { mobile: s.mobile }) : t("admin.queues.to_voicemail")).join(" → ") || "—";
}

async function load() {
  const queues = await api("/api/queues");
  fill(listBox, table([
    { label: t("admin.queues.name"), value: (q) => el("strong", { class: "wl-mono" }, q.name) },
    { label: t("admin.queues.station"), value: (q) => stationName(q.station_id) },
    { label: t("admin.queues.purpose"), value: (q) => t(`admin.queues.purpose.${q.purpose}`) },
    { label: t("admin.queues.strategy"), value: (q) => t(`admin.queues.strategy.${q.config.strategy}`) },
    { label: t("admin.queues.ring_timeout"), num: true, value: (q) => seconds(q.config.ring_timeout) },
    { label: t("admin.queues.max_wait"), num: true, value: (q) => seconds(q.config.max_wait) },
    { label: t("admin.queues.wrap_up"), num: true, value: (q) => seconds(q.config.wrap_up_seconds) },
    { label: t("admin.queues.members"), value: (q) => q.members.map((m) => `${m.agent}${m.tier ? ` (${t("admin.queues.tier_n", { tier: m.tier })})` : ""}`).join("、") || "—" },
    { label: t("admin.queues.overflow"), value: (q) => overflowText(q.config.overflow) },
    { label: "", value: (q) => canEdit ? button(t("admin.edit"), () => openForm(q), "ghost") : "" },
  ], queues, { id: "queue-table", rowId: (q) => q.id }));
}

function memberRow(member = { agent: "", tier: 0 }) {
  const agent = el("select", { "aria-label": t("admin.queues.agent") },
    el("option", { value: "" }, "—"), agents.map((a) => el("option", { value: a.username }, `${a.display_name || a.username} (${a.username})`)));
  if (member.agent && !agents.some((a) => a.username === member.agent)) agent.append(el("option", { value: member.agent }, member.agent));
  agent.value = member.agent;
  const tier = el("input", { type: "number", min: "0", max: "9", value: String(member.tier), "aria-label": t("admin.queues.tier"), style: "width: 72px" });
  const row = el("div", { class: "admin-member" }, agent, el("span", { class: "wl-muted" }, t("admin.queues.tier")), tier,
    button("×", () => row.remove(), "ghost", { title: t("admin.queues.remove_member") }));
  return row;
}

function openForm(queue) {
  const config = queue ? { ...queue.config } : {};
  const advanced = Object.fromEntries(Object.entries(config).filter(([k]) => !SIMPLE.includes(k)));
  const node = form([
    { name: "name", label: t("admin.queues.name"), required: true, value: queue ? queue.name : "", placeholder: "orders-yanta" },
    { name: "station_id", label: t("admin.queues.station"), type: "select", options: stations.map((s) => [s.id, s.name]), value: queue ? queue.station_id : undefined },
    { name: "purpose", label: t("admin.queues.purpose"), type: "select", options: PURPOSES.map((p) => [p, t(`admin.queues.purpose.${p}`)]), value: queue ? queue.purpose : "orders" },
    { name: "strategy", label: t("admin.queues.strategy"), type: "select", options: STRATEGIES.map((s) => [s, t(`admin.queues.strategy.${s}`)]), value: config.strategy || "longest-idle" },
    { name: "ring_timeout", label: t("admin.queues.ring_timeout_s"), type: "number", min: 1, value: config.ring_timeout ?? 15 },
    { name: "retry_seconds", label: t("admin.queues.retry_s"), type: "number", min: 0, value: config.retry_seconds ?? 5 },
    { name: "max_wait", label: t("admin.queues.max_wait_s"), type: "number", min: 0, value: config.max_wait ?? 120 },
    { name: "wrap_up_seconds", label: t("admin.queues.wrap_up_s"), type: "number", min: 0, value: config.wrap_up_seconds ?? 10 },
    { name: "advanced", label: t("admin.queues.advanced"), type: "textarea", wide: true, rows: 8, value: JSON.stringify(advanced, null, 2) },
  ], {
    id: "queue-form",
    submitLabel: queue ? t("shell.save") : t("admin.queues.create"),
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (v) => {
      let extra;
      try {
        extra = v.advanced.trim() ? JSON.parse(v.advanced) : {};
      } catch {
        toast(t("admin.queues.bad_json"), "bad");
        return;
      }
      const members = [...membersBox.querySelectorAll(".admin-member")].map((row) => {
        const [agent, tier] = row.querySelectorAll("select, input");
        return { agent: agent.value, tier: Number(tier.value || 0) };
      }).filter((m) => m.agent);
      const body = {
        name: v.name.trim(), station_id: Number(v.station_id), purpose: v.purpose, members,
        config: { ...extra, strategy: v.strategy, ring_timeout: v.ring_timeout, retry_seconds: v.retry_seconds,
          max_wait: v.max_wait, wrap_up_seconds: v.wrap_up_seconds },
      };
      try {
        if (queue) await api(`/api/queues/${queue.id}`, { method: "PUT", body });
        else await api("/api/queues", { method: "POST", body });
        toast(t("admin.saved"), "ok");
        fill(formBox);
        await load();
      } catch (error) {
        showError(error);
      }
    },
  });
  node.elements.namedItem("advanced").classList.add("admin-json");
  const membersBox = el("div", { class: "admin-members", id: "queue-members" }, (queue ? queue.members : []).map((m) => memberRow(m)));
  node.insertBefore(el("div", { class: "wl-field wide" }, el("span", {}, t("admin.queues.members_help")), membersBox,
    el("div", {}, button(t("admin.queues.add_member"), () => membersBox.append(memberRow()), "", { id: "queue-add-member" }))),
  node.querySelector(".wl-actions"));
  fill(formBox, card(queue ? t("admin.queues.edit", { name: queue.name }) : t("admin.queues.new"), [], node));
  node.elements.namedItem("name").focus();
}

try {
  [stations, agents] = await Promise.all([api("/api/stations"), api("/api/agents").catch(() => [])]);
  await load();
} catch (error) {
  showError(error);
}
