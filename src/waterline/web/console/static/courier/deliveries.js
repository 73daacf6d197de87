// The courier's deliveries: his open orders by promised time, call the customer, set out, deliver
// (empties collected, tickets used: the order API books the bucket ledger and the tickets), report
// a problem. Refreshes every 20 s so a newly dispatched order shows up.
import { api, el, fill, money, showError, t, toast, when } from "../console.js";

const REFRESH_MS = 20000;
const $ = (id) => document.getElementById(id);
const view = { products: new Map(), courier: null, open: [], done: [], current: null };

function shanghaiToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function promiseOf(order) {
  return order.eta || order.window_end;
}

function isOverdue(order) {
  const promise = promiseOf(order);
  return Boolean(promise) && new Date(promise).getTime() < Date.now();
}

function itemsText(order) {
  return order.items.map((i) => `${(view.products.get(i.product_id) || {}).name || `#${i.product_id}`} ×${i.quantity}`).join("，");
}

function barrels(order) {
  return order.items.filter((i) => (view.products.get(i.product_id) || {}).returnable).reduce((n, i) => n + i.quantity, 0);
}

function ticketUnits(order) {
  return order.items.filter((i) => i.paid_with_tickets).reduce((n, i) => n + i.quantity, 0);
}

function card(order, index) {
  const contact = order.contact || {};
  const phone = (contact.phones || [])[0];
  const overdue = isOverdue(order);
  const promise = promiseOf(order);
  const actions = el("div", { class: "cv-actions" },
    phone ? el("a", { class: "cv-call", href: `tel:${phone}`, dataset: { action: "call" } }, t("courier.call", { phone })) : null,
    order.state === "dispatched"
      ? el("button", { class: "wl-btn primary", type: "button", dataset: { action: "start" }, onclick: () => start(order) }, t("courier.start"))
      : el("button", { class: "wl-btn ok solid", type: "button", dataset: { action: "deliver" }, onclick: () => openDeliver(order) }, t("courier.deliver.button")),
    el("button", { class: "wl-btn danger", type: "button", dataset: { action: "issue" }, onclick: () => openIssue(order) }, t("courier.issue.button")));
  return el("article", { class: `cv-card${overdue ? " overdue" : ""}`, dataset: { orderId: String(order.id), number: order.number, state: order.state } },
    el("div", { class: "cv-head" },
      el("span", { class: "cv-seq" }, String(index + 1)),
      el("span", { class: "cv-number" }, order.number),
      el("span", { class: `wl-tag ${order.state === "delivering" ? "info" : ""}` }, t(`courier.state.${order.state}`)),
      el("span", { class: `cv-eta${overdue ? " bad" : ""}` }, promise ? t("courier.eta", { time: when(promise) }) : t("courier.asap"))),
    el("div", { class: "cv-name" }, contact.name || "—"),
    el("div", { class: "cv-address" }, contact.address ? contact.address.text : "—",
      contact.address ? el("span", { class: "wl-muted" }, ` ${t("courier.floor", { floor: contact.address.floor })}${contact.address.has_elevator ? t("courier.elevator") : ""}`) : null),
    el("div", { class: "cv-items" }, itemsText(order)),
    el("div", { class: "cv-money" },
      order.due_fen > 0 ? [t("courier.collect"), " ", el("b", {}, money(order.due_fen))] : t("courier.paid"),
      order.pay_with_tickets ? ` · ${t("courier.tickets_due", { n: ticketUnits(order) })}` : ""),
    order.note ? el("div", { class: "cv-note" }, t("courier.note", { note: order.note })) : null,
    actions);
}

function render() {
  const open = [...view.open].sort((a, b) => (a.state === "delivering" ? 0 : 1) - (b.state === "delivering" ? 0 : 1)
    || String(promiseOf(a) || a.placed_at).localeCompare(String(promiseOf(b) || b.placed_at)));
  fill($("cv-open"), open.length ? open.map(card) : el("div", { class: "wl-card wl-empty" }, t("courier.nothing")));
  $("cv-done-count").textContent = String(view.done.length);
  fill($("cv-done"), view.done.map((o) => el("div", { class: "cv-done-row", dataset: { orderId: String(o.id) } },
    el("span", {}, o.number, " ", (o.contact || {}).name || ""),
    el("span", { class: "wl-muted" }, t("courier.done_line", { empties: o.empties_collected, tickets: o.tickets_used })))));
  const duty = $("cv-duty");
  if (view.courier) {
    duty.className = `wl-tag ${view.courier.on_duty ? "ok" : "warn"}`;
    duty.dataset.duty = view.courier.on_duty ? "on" : "off";
    duty.textContent = view.courier.on_duty ? t("courier.duty.on") : t("courier.duty.off");
  } else {
    duty.className = "wl-tag bad";
    duty.textContent = t("courier.no_record");
  }
}

async function load() {
  try {
    const [dispatched, delivering, delivered] = await Promise.all([
      api("/api/orders", { query: { state: "dispatched", limit: 200 } }),
      api("/api/orders", { query: { state: "delivering", limit: 200 } }),
      api("/api/orders", { query: { state: "delivered", date: shanghaiToday(), limit: 200 } }),
    ]);
    view.open = [...dispatched, ...delivering];
    view.done = delivered;
    render();
  } catch (error) {
    showError(error);
  }
}

async function start(order) {
  try {
    await api(`/api/orders/${order.id}/transitions`, { method: "POST", body: { to: "delivering" } });
    toast(t("courier.started", { number: order.number }), "ok");
    await load();
  } catch (error) {
    showError(error);
  }
}

function openDeliver(order) {
  view.current = order;
  $("cv-deliver-what").textContent = `${order.number} · ${(order.contact || {}).name || ""} · ${itemsText(order)}`;
  $("cv-empties").value = String(barrels(order));
  const tickets = ticketUnits(order);
  $("cv-tickets-field").hidden = !order.pay_with_tickets;
  $("cv-tickets").value = String(tickets);
  $("cv-deliver-due").textContent = order.due_fen > 0 ? t("courier.collect_money", { money: money(order.due_fen) }) : t("courier.paid");
  $("cv-deliver").showModal();
  $("cv-empties").focus();
  $("cv-empties").select();
}

async function deliver(event) {
  event.preventDefault();
  const order = view.current;
  if (!order) return;
  const body = { to: "delivered", empties_collected: Number($("cv-empties").value || 0) };
  if (order.pay_with_tickets) body.tickets_used = Number($("cv-tickets").value || 0);
  const button = $("cv-deliver-ok");
  button.disabled = true;
  try {
    await api(`/api/orders/${order.id}/transitions`, { method: "POST", body });
    $("cv-deliver").close();
    toast(t("courier.delivered", { number: order.number, empties: body.empties_collected }), "ok");
    await load();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function openIssue(order) {
  view.current = order;
  $("cv-issue-what").textContent = `${order.number} · ${(order.contact || {}).name || ""}`;
  $("cv-issue-note").value = "";
  $("cv-issue").showModal();
}

async function report(event) {
  event.preventDefault();
  const order = view.current;
  if (!order) return;
  try {
    await api(`/api/deliveries/${order.id}/issues`, {
      method: "POST", body: { issue: $("cv-issue-kind").value, note: $("cv-issue-note").value },
    });
    $("cv-issue").close();
    toast(t("courier.issue.sent", { number: order.number }), "ok");
  } catch (error) {
    showError(error);
  }
}

async function toggleDuty() {
  if (!view.courier) return;
  try {
    view.courier = await api(`/api/couriers/${view.courier.id}/duty`, { method: "POST", body: { on_duty: !view.courier.on_duty } });
    render();
  } catch (error) {
    showError(error);
  }
}

async function init() {
  $("cv-deliver-form").addEventListener("submit", deliver);
  $("cv-deliver-cancel").addEventListener("click", () => $("cv-deliver").close());
  $("cv-issue-form").addEventListener("submit", report);
  $("cv-issue-cancel").addEventListener("click", () => $("cv-issue").close());
  $("cv-duty-toggle").addEventListener("click", toggleDuty);
  $("cv-refresh").addEventListener("click", load);
  try {
    const products = await api("/api/products");
    view.products = new Map(products.map((p) => [p.id, p]));
  } catch (error) {
    showError(error);
  }
  try {
    view.courier = await api("/api/couriers/me");
  } catch (error) {
    view.courier = null;
  }
  await load();
  setInterval(load, REFRESH_MS);
}

init();
