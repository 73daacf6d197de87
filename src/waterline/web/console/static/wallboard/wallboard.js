// The supervisor wallboard: /api/wallboard every few seconds (today's calls, queue figures from the
// queue log, agents' states) and, between polls, /ws/supervisor: the engine's own queue stats
// (waiting, longest wait) and agent states as they change. Two ECharts charts (vendored from npm).
import { api, duration, el, fill, live, t, when } from "../console.js";

const REFRESH_MS = 5000;
const STATES = ["available", "ringing", "on_call", "wrap_up", "paused", "logged_out"];
const STATE_COLOURS = { available: "#389e0d", ringing: "#d46b08", on_call: "#1677ff", wrap_up: "#722ed1", paused: "#cf1322", logged_out: "#bfbfbf" };
const $ = (id) => document.getElementById(id);
const charts = {};

function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`;
}

function setTile(key, text, tone = "") {
  const node = document.querySelector(`[data-value="${key}"]`);
  node.textContent = text;
  node.className = `wb-tile-value${tone ? ` ${tone}` : ""}`;
}

function tone(rate, good, fair) {
  if (rate === null || rate === undefined) return "";
  return rate >= good ? "ok" : rate >= fair ? "warn" : "bad";
}

function chart(id) {
  if (!window.echarts) return null;
  if (!charts[id]) charts[id] = window.echarts.init($(id), null, { renderer: "svg" });
  return charts[id];
}

function renderCharts(data) {
  const agents = chart("wb-chart-agents");
  if (agents) {
    agents.setOption({
      animation: false,
      tooltip: { trigger: "item" },
      legend: { bottom: 0, textStyle: { fontSize: 12 } },
      series: [{
        type: "pie", radius: ["40%", "68%"], center: ["50%", "44%"], label: { formatter: "{b} {c}" },
        data: STATES.filter((s) => data.agent_states[s]).map((s) => ({
          name: t(`wallboard.state.${s}`), value: data.agent_states[s], itemStyle: { color: STATE_COLOURS[s] },
        })),
      }],
    });
  }
  const queues = chart("wb-chart-queues");
  if (queues) {
    const names = data.queues.map((q) => q.queue);
    queues.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 40, right: 16, top: 16, bottom: 56 },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: t("wallboard.col.answered"), type: "bar", stack: "q", data: data.queues.map((q) => q.answered), itemStyle: { color: "#389e0d" } },
        { name: t("wallboard.col.abandoned"), type: "bar", stack: "q", data: data.queues.map((q) => q.abandoned), itemStyle: { color: "#cf1322" } },
        { name: t("wallboard.col.waiting"), type: "bar", stack: "q", data: data.queues.map((q) => q.waiting), itemStyle: { color: "#d46b08" } },
      ],
    }, true);
  }
}

// what /ws/supervisor said last: queue -> {waiting, longest_wait, at}, agent -> state message
const channel = { queues: new Map(), agents: new Map(), engine: false };
let last = null;

function merged(data) {
  // the engine knows who waits now; the queue log knows the day. Live figures win while connected.
  const now = Date.now() / 1000;
  const queues = data.queues.map((q) => ({ ...q }));
  if (channel.engine) {
    for (const [name, stats] of channel.queues) {
      let row = queues.find((q) => q.queue === name);
      if (!row) {
        row = { queue: name, offered: 0, answered: 0, abandoned: 0, exited: 0, service_level: null };
        queues.push(row);
      }
      row.waiting = stats.waiting;
      row.longest_wait = stats.waiting ? stats.longest_wait + Math.max(0, now - stats.at) : 0;
    }
  }
  const agents = data.agents.map((a) => {
    const update = channel.agents.get(a.username);
    return update ? { ...a, state: update.state, reason: update.reason ?? a.reason, since: update.since ?? a.since } : a;
  });
  const states = Object.fromEntries(STATES.map((s) => [s, agents.filter((a) => a.state === s).length]));
  const total = { ...data.total };
  if (channel.engine && channel.queues.size) {
    total.waiting = queues.reduce((n, q) => n + (q.waiting || 0), 0);
    total.longest_wait = Math.max(0, ...queues.map((q) => q.longest_wait || 0));
  }
  return { ...data, queues, agents, agent_states: states, total };
}

function agentUpdate(message) {
  return { ...message, since: message.at ? new Date(message.at * 1000).toISOString() : undefined };
}

function onChannel(message) {
  if (message.type === "hello" || message.type === "engine") {
    channel.engine = Boolean(message.engine ?? message.connected);
    if (!channel.engine) channel.queues.clear();
  } else if (message.type === "snapshot") {
    for (const q of message.queues || []) channel.queues.set(q.queue, q);
    for (const a of message.agents || []) if (a.agent) channel.agents.set(a.agent, agentUpdate(a));
  } else if (message.type === "queue.stats") {
    channel.queues.set(message.queue, message);
  } else if (message.type === "agent.state") {
    channel.agents.set(message.agent, agentUpdate(message));
  } else {
    return;
  }
  const tag = $("wb-engine");
  tag.className = `wl-tag ${channel.engine ? "ok" : "warn"}`;
  tag.dataset.engine = channel.engine ? "on" : "off";
  tag.textContent = channel.engine ? t("wallboard.engine.on") : t("wallboard.engine.off");
  if (last) render(last);
}

function render(raw) {
  last = raw;
  const data = merged(raw);
  const total = data.total;
  setTile("calls_today", String(data.calls_today));
  setTile("answered", String(total.answered));
  setTile("abandoned", String(total.abandoned), total.abandoned ? "bad" : "");
  setTile("answer_rate", percent(total.answer_rate), tone(total.answer_rate, 0.95, 0.85));
  setTile("service_level", percent(total.service_level), tone(total.service_level, 0.8, 0.6));
  setTile("waiting", String(total.waiting), total.waiting ? "warn" : "");
  setTile("longest_wait", duration(total.longest_wait), total.longest_wait > data.service_seconds ? "bad" : "");
  setTile("asa", duration(total.average_answer_wait));
  $("wb-sl-note").textContent = t("wallboard.sl_note", { seconds: data.service_seconds });
  const rows = data.queues.map((q) => el("tr", { dataset: { queue: q.queue } },
    el("td", {}, q.queue),
    el("td", { class: "num" }, String(q.waiting)),
    el("td", { class: "num" }, duration(q.longest_wait)),
    el("td", { class: "num" }, String(q.offered)),
    el("td", { class: "num" }, String(q.answered)),
    el("td", { class: "num" }, String(q.abandoned)),
    el("td", { class: "num" }, percent(q.service_level))));
  fill($("wb-queues"), rows.length ? rows : el("tr", {}, el("td", { colspan: "7", class: "wl-empty" }, t("wallboard.no_queue_calls"))));
  const agents = data.agents.map((a) => el("div", { class: "wb-agent", dataset: { state: a.state, agent: a.username } },
    el("b", {}, a.display_name || a.username),
    el("span", {}, t(`wallboard.state.${a.state}`)),
    a.reason ? el("span", { class: "wl-muted" }, ` · ${a.reason}`) : null,
    a.since ? el("div", { class: "wl-muted" }, t("wallboard.since", { time: when(a.since) })) : null));
  fill($("wb-agents"), agents.length ? agents : el("div", { class: "wl-empty" }, t("shell.empty")));
  renderCharts(data);
}

function setLive(ok) {
  const tag = $("wb-live");
  tag.className = `wl-tag ${ok ? "ok" : "bad"}`;
  tag.dataset.live = ok ? "on" : "off";
  tag.textContent = ok ? t("wallboard.live.on") : t("wallboard.live.off");
  $("wb-updated").textContent = t("wallboard.updated", { time: when(new Date().toISOString()) });
}

async function refresh() {
  try {
    render(await api("/api/wallboard"));
    setLive(true);
  } catch (error) {
    setLive(false);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
live("/ws/supervisor", onChannel, (status) => {
  if (status === "closed") { channel.engine = false; channel.queues.clear(); }
});
refresh();
