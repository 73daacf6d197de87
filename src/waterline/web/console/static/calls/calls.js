// The call log: search /api/calls, open one call (/api/calls/{id}: the flow's path), play and
// download its recording (/api/recordings/{id}/audio answers Range requests, so seeking works).
import { api, client, duration, el, fill, showError, t, when } from "../console.js";

const PAGE = 50;
const $ = (id) => document.getElementById(id);
const search = { offset: 0, selected: null };

function shanghaiDay(offsetDays = 0) {
  const date = new Date(Date.now() + offsetDays * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(date);
}

function outcomeTag(outcome) {
  if (!outcome) return el("span", { class: "wl-tag info" }, t("calls.open"));
  const tone = { "order-placed": "ok", "ivr-completed": "ok", transferred: "info", voicemail: "warn", abandoned: "bad", blocked: "bad", failed: "bad" }[outcome] || "";
  return el("span", { class: `wl-tag ${tone}` }, t(`calls.outcome.${outcome}`));
}

function row(call) {
  const tr = el("tr", { dataset: { callId: String(call.id) }, tabindex: "0" },
    el("td", {}, when(call.started_at, true)),
    el("td", { class: "wl-mono" }, call.caller),
    el("td", {}, call.region_city || "—"),
    el("td", {}, call.flow_name ? `${call.flow_name} v${call.flow_version}` : "—"),
    el("td", {}, call.agent || "—"),
    el("td", { class: "num" }, duration(call.wait_seconds)),
    el("td", { class: "num" }, duration(call.total_seconds)),
    el("td", {}, outcomeTag(call.outcome)),
    el("td", {}, call.recording_id ? el("span", { class: "wl-tag info" }, t("calls.has_recording")) : "—"));
  const open = () => show(call.id, tr);
  tr.addEventListener("click", open);
  tr.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
  return tr;
}

let listing = 0; // the latest search: an earlier answer arriving after it must not replace its rows

async function list() {
  const mine = ++listing;
  const from = $("cl-from").value, to = $("cl-to").value;
  try {
    const calls = await api("/api/calls", {
      query: {
        from: from || undefined,
        // the form's "to" day is inclusive; the API's bound is exclusive
        to: to ? new Date(new Date(`${to}T00:00:00Z`).getTime() + 86400000).toISOString().slice(0, 10) : undefined,
        caller: $("cl-caller").value.trim(), outcome: $("cl-outcome").value, limit: PAGE, offset: search.offset,
      },
    });
    if (mine !== listing) return;
    fill($("cl-rows"), calls.length ? calls.map(row) : el("tr", {}, el("td", { colspan: "9", class: "wl-empty" }, t("shell.empty"))));
    $("cl-page").textContent = t("calls.page", { from: calls.length ? search.offset + 1 : 0, to: search.offset + calls.length });
    $("cl-prev").disabled = search.offset === 0;
    $("cl-next").disabled = calls.length < PAGE;
  } catch (error) {
    showError(error);
  }
}

async function show(id, tr) {
  document.querySelectorAll("#cl-rows tr.selected").forEach((r) => r.classList.remove("selected"));
  if (tr) tr.classList.add("selected");
  try {
    const call = await api(`/api/calls/${id}`);
    const path = call.path.map((step) => el("li", {},
      el("b", {}, step.node), el("span", { class: "kind" }, step.kind),
      step.digits ? el("span", { class: "wl-tag info" }, t("calls.digits", { digits: step.digits })) : null,
      el("div", { class: "wl-muted" }, when(step.at), step.detail ? ` · ${step.detail}` : "")));
    const audio = call.recording_url && client.may_listen
      ? el("div", { class: "cl-audio" },
        el("audio", { controls: true, preload: "metadata", src: call.recording_url, id: "cl-player" }),
        el("a", { href: call.recording_url, download: "", class: "wl-btn small", id: "cl-download" }, t("calls.download")))
      : el("p", { class: "wl-muted" }, call.recording_url ? t("calls.no_permission") : t("calls.no_recording"));
    fill($("cl-detail"),
      el("h2", {}, t("calls.detail", { caller: call.caller })),
      el("dl", { class: "wl-kv" },
        el("dt", {}, t("calls.col.started")), el("dd", {}, when(call.started_at, true)),
        el("dt", {}, t("calls.did")), el("dd", {}, call.did),
        el("dt", {}, t("calls.col.region")), el("dd", {}, call.region_city || "—"),
        el("dt", {}, t("calls.digits_all")), el("dd", {}, call.digits || "—"),
        el("dt", {}, t("calls.queue")), el("dd", {}, call.queue || "—"),
        el("dt", {}, t("calls.col.agent")), el("dd", {}, call.agent || "—"),
        el("dt", {}, t("calls.talk")), el("dd", {}, duration(call.talk_seconds)),
        el("dt", {}, t("calls.col.outcome")), el("dd", {}, outcomeTag(call.outcome)),
        el("dt", {}, t("calls.hangup")), el("dd", {}, call.hangup_side ? t(`calls.side.${call.hangup_side}`) : "—"),
        call.order_id ? [el("dt", {}, t("calls.order")), el("dd", {}, `#${call.order_id}`)] : null),
      el("h2", {}, t("calls.path")),
      path.length ? el("ol", { class: "cl-path" }, path) : el("p", { class: "wl-muted" }, t("shell.empty")),
      el("h2", {}, t("calls.recording")),
      audio);
  } catch (error) {
    showError(error);
  }
}

$("cl-from").value = shanghaiDay(-6);
$("cl-to").value = shanghaiDay();
$("cl-search").addEventListener("submit", (event) => { event.preventDefault(); search.offset = 0; list(); });
$("cl-prev").addEventListener("click", () => { search.offset = Math.max(0, search.offset - PAGE); list(); });
$("cl-next").addEventListener("click", () => { search.offset += PAGE; list(); });
list();
