// The agent desktop: state control, the live call card (/ws/agent), customer search and card,
// one-screen ordering (Enter confirms), new customer, complaint, wrap-up, the agent's calls today.
import {
  ApiError, api, client, duration, el, fill, live, money, showError, t, toast, when,
} from "../console.js";

const me = client.user;
const $ = (id) => document.getElementById(id);

const reference = { products: [], productsById: new Map(), stations: [], districts: [], queues: client.queues || [] };
const desk = {
  state: { state: null, since: null, reason: "" },
  call: null,          // {call_id, caller, queue, offeredAt, waited, answered, ended, ...}
  customer: null,      // the lookup JSON of the customer on screen
  phone: "",           // the number searched or calling
  orderPlaced: false,  // during the current call (pre-selects the wrap-up code)
  wrapUntil: null,     // epoch ms when the wrap-up ends
};

// ------------------------------------------------------------------------------------- state
const STATE_KIND = {
  available: "ok", ringing: "warn", on_call: "info", wrap_up: "warn", paused: "bad", logged_out: "",
};

function showState() {
  const { state, reason } = desk.state;
  const tag = $("ag-state");
  tag.textContent = state ? t(`agent.state.${state}`) : "—";
  tag.className = `wl-tag ${STATE_KIND[state] || ""}`;
  tag.dataset.state = state || "";
  $("ag-state-reason").textContent = state === "paused" && reason ? `（${reason}）` : "";
  for (const button of document.querySelectorAll(".ag-state-actions [data-state]")) {
    button.disabled = button.dataset.state === state && state !== "paused";
  }
  tick();
}

function tick() {
  const { since } = desk.state;
  $("ag-state-since").textContent = since
    ? t("agent.state.for", { duration: duration((Date.now() - new Date(since).getTime()) / 1000) }) : "";
  const wrap = $("ag-wrapup");
  if (desk.state.state === "wrap_up" && desk.wrapUntil) {
    const left = Math.max(0, (desk.wrapUntil - Date.now()) / 1000);
    wrap.hidden = false;
    wrap.textContent = t("agent.wrapup.left", { duration: duration(left) });
    $("ag-wrapup-left").textContent = wrap.textContent;
  } else {
    wrap.hidden = true;
  }
  if (desk.call && !desk.call.ended) {
    const waited = desk.call.waited + (desk.call.answered ? 0 : (Date.now() - desk.call.offeredAt) / 1000);
    $("ag-call-wait").textContent = desk.call.answered
      ? t("agent.call.talking", { duration: duration((Date.now() - desk.call.answeredAt) / 1000) })
      : t("agent.call.waited", { duration: duration(waited) });
  }
}

function applyState(state, since, reason = "") {
  const previous = desk.state.state;
  desk.state = { state, since, reason };
  if (state === "wrap_up" && previous !== "wrap_up") {
    const queue = reference.queues.find((q) => desk.call && q.name === desk.call.queue);
    desk.wrapUntil = Date.now() + 1000 * (queue ? queue.wrap_up_seconds : 10);
  }
  if (state !== "wrap_up") desk.wrapUntil = null;
  showState();
}

async function loadState() {
  const agents = await api("/api/agents");
  reference.agents = agents;
  const mine = agents.find((agent) => agent.id === me.id);
  if (mine) applyState(mine.state, mine.since, mine.reason);
  fillTransferTargets();
}

async function setState(state) {
  const reason = state === "paused" ? $("ag-pause-reason").value : "";
  try {
    const change = await api("/api/agents/me/state", { method: "POST", body: { state, reason } });
    applyState(change.to_state, change.at, change.reason);
    toast(t("agent.state.changed", { state: t(`agent.state.${change.to_state}`) }), "ok", 2500);
  } catch (error) {
    showError(error);
  }
}

for (const button of document.querySelectorAll(".ag-state-actions [data-state]")) {
  button.addEventListener("click", () => setState(button.dataset.state));
}

// -------------------------------------------------------------------------------- live call
function onLiveStatus(status) {
  const box = $("ag-live");
  box.classList.toggle("up", status === "open");
  $("ag-live-text").textContent = status === "open" ? t("agent.live.up") : t("agent.live.down");
  box.title = status === "open" ? t("shell.live.connected") : t("shell.live.disconnected");
}

function epochMs(at) {
  return typeof at === "number" ? at * 1000 : new Date(at).getTime();
}

function onLive(message) {
  switch (message.type) {
    case "hello":
      if (message.state && message.state.state) {
        applyState(message.state.state, message.state.since || (message.state.at ? new Date(epochMs(message.state.at)).toISOString() : null), message.state.reason || "");
      }
      break;
    case "agent.state":
      if (message.agent === me.username) {
        applyState(message.state, new Date(epochMs(message.at)).toISOString(), message.reason || "");
      }
      break;
    case "call.offered":
      if (message.agent === me.username) offered(message);
      break;
    case "call.answered":
      if (desk.call && message.call_id === desk.call.call_id) answered(message);
      break;
    case "call.ended":
      if (desk.call && message.call_id === desk.call.call_id && (!message.agent || message.agent === me.username)) ended(message);
      break;
    default:
      break;
  }
}

function offered(message) {
  desk.call = {
    call_id: message.call_id, caller: message.caller, queue: message.queue, did: message.did,
    waited: message.waited || 0, offeredAt: Date.now(), answered: false, ended: false,
  };
  desk.orderPlaced = false;
  $("ag-call").hidden = false;
  $("ag-call").dataset.callId = message.call_id;
  $("ag-call-title").textContent = t("agent.call.offered");
  const status = $("ag-call-status");
  status.textContent = t("agent.call.ringing");
  status.className = "wl-tag warn";
  $("ag-call-caller").textContent = message.caller || t("agent.call.withheld");
  $("ag-call-queue").textContent = message.queue || "—";
  const card = message.card || {};
  const region = card.region || {};
  const regionText = [region.province, region.city, region.district].filter(Boolean).join(" ") || message.region || "";
  $("ag-call-region").textContent = regionText || t("agent.call.region_unknown");
  $("ag-call-ivr").textContent = (message.ivr_path || []).join(" → ")
    + (message.digits ? `（${t("agent.call.digits")} ${message.digits}）` : "") || "—";
  $("ag-call-did").textContent = message.did || "—";
  for (const id of ["ag-transfer", "ag-hangup", "ag-transfer-target"]) $(id).disabled = false;
  $("ag-wrapup-card").hidden = true;
  if (card.known && card.customer) {
    showCustomer(card.customer, card.complaints || [], card.phone || message.caller);
  } else {
    unknownCaller(card.phone || message.caller);
  }
  tick();
}

function answered(message) {
  desk.call.answered = true;
  desk.call.answeredAt = Date.now();
  desk.call.waited = message.waited || desk.call.waited;
  $("ag-call-title").textContent = t("agent.call.current");
  const status = $("ag-call-status");
  status.textContent = t("agent.call.answered");
  status.className = "wl-tag info";
  tick();
}

function ended(message) {
  const wasAnswered = desk.call.answered;
  desk.call.ended = true;
  const status = $("ag-call-status");
  // who ended it, in words (the engine's reason is a code: caller, agent, transferred, no-answer…)
  const endedBy = {
    caller: () => t("agent.call.ended_caller"),
    agent: () => t("agent.call.ended_agent"),
    transferred: () => t("agent.call.ended_transferred"),
  }[message.reason];
  status.textContent = endedBy ? endedBy() : t("agent.call.ended", { reason: message.reason || "" });
  status.className = "wl-tag";
  $("ag-call-wait").textContent = "";
  for (const id of ["ag-transfer", "ag-hangup", "ag-transfer-target"]) $(id).disabled = true;
  if (wasAnswered) {
    $("ag-wrapup-card").hidden = false;
    $("wrapup-code").value = desk.orderPlaced ? "order" : "inquiry";
    $("wrapup-notes").value = "";
  }
  loadToday().catch(() => {});
}

function fillTransferTargets() {
  const select = $("ag-transfer-target");
  const agents = (reference.agents || []).filter((a) => a.id !== me.id);
  fill(select,
    el("optgroup", { label: t("agent.call.to_agent") },
      agents.map((a) => el("option", { value: `agent:${a.username}` },
        `${a.display_name || a.username}（${t(`agent.state.${a.state}`)}）`))),
    el("optgroup", { label: t("agent.call.to_queue") },
      reference.queues.map((q) => el("option", { value: `queue:${q.name}` }, q.name))));
}

$("ag-transfer").addEventListener("click", async () => {
  if (!desk.call) return;
  const [kind, name] = $("ag-transfer-target").value.split(/:(.*)/s);
  if (!name) return;
  try {
    await api(`/api/calls/${encodeURIComponent(desk.call.call_id)}/transfer`, { method: "POST", body: { [kind]: name } });
    toast(t("agent.call.transferred", { target: name }), "ok");
  } catch (error) { showError(error); }
});

$("ag-hangup").addEventListener("click", async () => {
  if (!desk.call) return;
  try {
    await api(`/api/calls/${encodeURIComponent(desk.call.call_id)}/hangup`, { method: "POST" });
  } catch (error) { showError(error); }
});

$("ag-wrapup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!desk.call) return;
  try {
    await api(`/api/calls/${encodeURIComponent(desk.call.call_id)}/disposition`, {
      method: "POST", body: { code: $("wrapup-code").value, notes: $("wrapup-notes").value },
    });
    toast(t("agent.wrapup.saved"), "ok");
    $("ag-wrapup-card").hidden = true;
  } catch (error) { showError(error); }
});

// --------------------------------------------------------------------------- customer card
const TIER_KIND = { normal: "", vip: "warn", enterprise: "info" };

function productName(id) {
  const product = reference.productsById.get(id);
  return product ? product.name : `#${id}`;
}

function stationName(id) {
  const station = reference.stations.find((s) => s.id === id);
  return station ? station.name : (id ? `#${id}` : "—");
}

function showCustomer(customer, complaints, phone) {
  desk.customer = customer;
  desk.phone = phone || customer.phones[0] || "";
  $("ag-new-customer").hidden = true;
  $("ag-customer").hidden = false;
  $("ag-customer").dataset.customerId = customer.id;
  $("ag-customer-name").textContent = customer.name;
  const tier = $("ag-customer-tier");
  tier.textContent = t(`agent.tier.${customer.tier}`);
  tier.className = `wl-tag ${TIER_KIND[customer.tier] || ""}`;
  fill($("ag-customer-tags"), customer.tags.map((tag) => el("span", { class: "wl-tag" }, tag)));
  fill($("ag-customer-phones"), customer.phone_details.map((p) =>
    el("span", { class: "ag-phone" }, p.display, p.label ? el("span", { class: "wl-muted" }, ` ${p.label}`) : null)));
  const prefs = customer.preferences || {};
  const usual = prefs.usual_product_id
    ? t("agent.customer.usual_text", { product: productName(prefs.usual_product_id), quantity: prefs.usual_quantity || 1 })
    : t("agent.customer.no_usual");
  const window = prefs.window_start ? ` · ${prefs.window_start.slice(0, 5)}–${(prefs.window_end || "").slice(0, 5)}` : "";
  $("ag-customer-usual").textContent = usual + window;
  const tickets = (customer.tickets || []).filter((account) => account.balance);
  fill($("ag-customer-tickets"), tickets.length
    ? tickets.map((account) => el("span", { class: "wl-tag info" },
      t("agent.customer.ticket_balance", { product: productName(account.product_id), count: account.balance })))
    : t("agent.customer.none"));
  const buckets = customer.buckets || {};
  $("ag-customer-buckets").textContent = t("agent.customer.bucket_text", {
    held: buckets.held ?? 0, entitlement: buckets.entitlement ?? 0, debt: buckets.debt ?? 0,
  });
  $("ag-customer-notes").textContent = customer.notes || "—";
  fill($("ag-customer-complaints"), complaints.length
    ? complaints.map((c) => el("li", {}, el("span", { class: "wl-tag bad" }, c.reason), " ",
      el("span", { class: "wl-muted" }, when(c.created_at, true)), c.note ? ` ${c.note}` : ""))
    : el("li", { class: "wl-muted" }, t("agent.customer.no_complaints")));
  fill($("ag-customer-orders"), (customer.last_orders || []).length
    ? customer.last_orders.map((o) => el("tr", {},
      el("td", { class: "wl-mono" }, o.number),
      el("td", {}, when(o.placed_at, true)),
      el("td", {}, o.items.map((item) => `${productName(item.product_id)} ×${item.quantity}`).join("，")),
      el("td", { class: "num" }, o.pay_with_tickets ? t("agent.order.by_tickets") : money(o.total_fen)),
      el("td", {}, el("span", { class: "wl-tag" }, lang_state(o)))))
    : el("tr", {}, el("td", { colspan: 5, class: "wl-muted" }, t("agent.customer.no_orders"))));
  prepareOrder(customer);
  $("ag-complaint").hidden = false;
}

function lang_state(order) {
  return client.lang === "en" ? order.state.replaceAll("_", " ") : order.state_zh;
}

function unknownCaller(phone) {
  desk.customer = null;
  desk.phone = phone || "";
  $("ag-customer").hidden = true;
  $("ag-order").hidden = true;
  $("ag-complaint").hidden = false;
  openNewCustomer(phone);
  $("ag-search-status").textContent = t("agent.search.not_found", { phone: phone || "" });
}

async function lookUp(phone) {
  const status = $("ag-search-status");
  status.textContent = t("shell.loading");
  try {
    const customer = await api("/api/customers/lookup", { query: { phone } });
    const complaints = await api(`/api/customers/${customer.id}/complaints`).catch(() => []);
    status.textContent = "";
    showCustomer(customer, complaints, phone);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) { unknownCaller(phone); return; }
    status.textContent = error.message;
  }
}

$("ag-search").addEventListener("submit", (event) => {
  event.preventDefault();
  const phone = $("ag-search-phone").value.trim();
  if (phone) lookUp(phone);
});

// ------------------------------------------------------------------------------- ordering
const NEW_ADDRESS = "new";

function stationFor(city, district) {
  return reference.stations.find((s) => s.active && s.service_districts.includes(district) && s.city === city)
    || reference.stations.find((s) => s.active && s.service_districts.includes(district));
}

function stationHint(target, city, district) {
  const station = district ? stationFor(city, district) : null;
  target.textContent = district
    ? (station ? t("agent.address.station", { station: station.name }) : t("agent.address.no_station"))
    : "";
  target.classList.toggle("bad", Boolean(district) && !station);
}

function fillDistricts(citySelect, districtSelect, city, district) {
  const cities = [...new Set(reference.districts.map((d) => d.city))];
  fill(citySelect, cities.map((c) => el("option", { value: c, selected: c === city }, c)));
  const chosen = citySelect.value;
  fill(districtSelect, reference.districts.filter((d) => d.city === chosen)
    .map((d) => el("option", { value: d.name, selected: d.name === district }, d.name)));
}

function prepareOrder(customer) {
  $("ag-order").hidden = false;
  $("order-placed").hidden = true;
  const addresses = customer.addresses || [];
  const preferred = addresses.find((a) => a.is_default) || addresses[0];
  fill($("order-address"),
    addresses.map((a) => el("option", { value: a.id, selected: preferred && a.id === preferred.id },
      `${a.text}${a.is_default ? `（${t("agent.address.default")}）` : ""}`)),
    el("option", { value: NEW_ADDRESS, selected: !preferred }, t("agent.address.new")));
  const prefs = customer.preferences || {};
  const product = reference.productsById.get(prefs.usual_product_id) || reference.products.find((p) => p.kind === "water" && p.active) || reference.products[0];
  if (product) $("order-product").value = String(product.id);
  $("order-quantity").value = String(prefs.usual_quantity || 1);
  $("order-note").value = "";
  addressChanged();
  productChanged();
  // Enter confirms the usual order: the focus waits on the button.
  $("order-submit").focus();
}

function selectedAddress() {
  const value = $("order-address").value;
  if (value === NEW_ADDRESS) return null;
  return (desk.customer.addresses || []).find((a) => String(a.id) === value) || null;
}

function addressChanged() {
  const address = selectedAddress();
  const isNew = $("order-address").value === NEW_ADDRESS;
  $("order-new-address").hidden = !isNew;
  if (isNew) {
    const base = (desk.customer.addresses || [])[0];
    fillDistricts($("na-city"), $("na-district"), base ? base.city : "西安市", base ? base.district : null);
    stationHint($("order-station"), $("na-city").value, $("na-district").value);
  } else if (address) {
    const station = address.station_override_id ? { name: stationName(address.station_override_id) } : stationFor(address.city, address.district);
    $("order-station").textContent = station ? t("agent.address.station", { station: station.name }) : t("agent.address.no_station");
  }
}

function ticketBalance(productId) {
  const accounts = (desk.customer && desk.customer.tickets) || [];
  return accounts.filter((a) => a.product_id === productId).reduce((sum, a) => sum + a.balance, 0);
}

function productChanged() {
  const product = reference.productsById.get(Number($("order-product").value));
  const quantity = Number($("order-quantity").value) || 0;
  const balance = product ? ticketBalance(product.id) : 0;
  const box = $("order-tickets");
  box.disabled = balance < quantity || balance === 0;
  box.checked = !box.disabled;
  $("order-tickets-label").textContent = balance
    ? t("agent.order.pay_tickets_balance", { count: balance }) : t("agent.order.pay_tickets");
  $("order-total").textContent = product
    ? (box.checked ? t("agent.order.total_tickets", { count: quantity }) : t("agent.order.total_text", { total: money(product.price_fen * quantity) }))
    : "";
}

$("order-address").addEventListener("change", addressChanged);
$("na-city").addEventListener("change", () => {
  fillDistricts($("na-city"), $("na-district"), $("na-city").value, null);
  stationHint($("order-station"), $("na-city").value, $("na-district").value);
});
$("na-district").addEventListener("change", () => stationHint($("order-station"), $("na-city").value, $("na-district").value));
$("order-product").addEventListener("change", productChanged);
$("order-quantity").addEventListener("input", productChanged);
$("order-tickets").addEventListener("change", () => {
  const product = reference.productsById.get(Number($("order-product").value));
  const quantity = Number($("order-quantity").value) || 0;
  $("order-total").textContent = product ? ($("order-tickets").checked
    ? t("agent.order.total_tickets", { count: quantity })
    : t("agent.order.total_text", { total: money(product.price_fen * quantity) })) : "";
});

async function addAddress(customer) {
  const detail = $("na-detail").value.trim();
  if (!detail) {
    $("na-detail").setAttribute("aria-invalid", "true");
    $("na-detail").focus();
    throw new ApiError(422, { message_zh: t("agent.address.detail_required"), message_en: t("agent.address.detail_required") });
  }
  $("na-detail").removeAttribute("aria-invalid");
  const before = new Set(customer.addresses.map((a) => a.id));
  const changed = await api(`/api/customers/${customer.id}`, {
    method: "PATCH",
    body: { add_addresses: [{
      city: $("na-city").value, district: $("na-district").value, detail,
      floor: Number($("na-floor").value) || 1, has_elevator: $("na-elevator").checked,
    }] },
  });
  const added = changed.addresses.find((a) => !before.has(a.id));
  return added.id;
}

let placing = false;
$("ag-order-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (placing || !desk.customer) return;
  placing = true;
  $("order-submit").disabled = true;
  try {
    const customer = desk.customer;
    const addressId = $("order-address").value === NEW_ADDRESS ? await addAddress(customer) : Number($("order-address").value);
    const order = await api("/api/orders", {
      method: "POST",
      body: {
        customer_id: customer.id, address_id: addressId,
        items: [{ product_id: Number($("order-product").value), quantity: Number($("order-quantity").value) }],
        pay_with_tickets: $("order-tickets").checked, note: $("order-note").value.trim(), channel: "agent",
      },
    });
    desk.orderPlaced = true;
    const placed = $("order-placed");
    placed.hidden = false;
    placed.dataset.orderNumber = order.number;
    // no ETA and no station yet: the order waits for a dispatcher (dispatch mode manual)
    placed.textContent = order.eta || order.station_id ? t("agent.order.placed_text", {
      number: order.number, station: stationName(order.station_id),
      eta: order.eta ? when(order.eta) : t("agent.order.eta_unknown"),
    }) : t("agent.order.placed_pending", { number: order.number });
    toast(t("agent.order.placed_toast", { number: order.number }), "ok");
    const refreshed = await api("/api/customers/lookup", { query: { phone: desk.phone || customer.phones[0] } });
    const complaints = await api(`/api/customers/${customer.id}/complaints`).catch(() => []);
    showCustomer(refreshed, complaints, desk.phone);
    $("order-placed").hidden = false;
  } catch (error) {
    showError(error);
  } finally {
    placing = false;
    $("order-submit").disabled = false;
  }
});

// --------------------------------------------------------------------------- new customer
function openNewCustomer(phone) {
  $("ag-new-customer").hidden = false;
  $("nc-phone").value = phone || $("ag-search-phone").value.trim();
  $("nc-name").value = "";
  $("nc-detail").value = "";
  fillDistricts($("nc-city"), $("nc-district"), "西安市", null);
  stationHint($("nc-station"), $("nc-city").value, $("nc-district").value);
  $("nc-name").focus();
}

$("ag-new-customer-open").addEventListener("click", () => openNewCustomer(""));
$("nc-cancel").addEventListener("click", () => { $("ag-new-customer").hidden = true; });
$("nc-city").addEventListener("change", () => {
  fillDistricts($("nc-city"), $("nc-district"), $("nc-city").value, null);
  stationHint($("nc-station"), $("nc-city").value, $("nc-district").value);
});
$("nc-district").addEventListener("change", () => stationHint($("nc-station"), $("nc-city").value, $("nc-district").value));

$("ag-new-customer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const phone = $("nc-phone").value.trim();
  const productId = Number($("nc-product").value) || null;
  try {
    await api("/api/customers", {
      method: "POST",
      body: {
        name: $("nc-name").value.trim(), phones: [phone], tier: $("nc-tier").value,
        addresses: [{
          city: $("nc-city").value, district: $("nc-district").value, detail: $("nc-detail").value.trim(),
          floor: Number($("nc-floor").value) || 1, has_elevator: $("nc-elevator").checked, is_default: true,
        }],
        preferences: productId ? { usual_product_id: productId, usual_quantity: Number($("nc-quantity").value) || 1 } : null,
      },
    });
    toast(t("agent.customer.created"), "ok");
    $("ag-search-status").textContent = "";
    await lookUp(phone);
  } catch (error) { showError(error); }
});

// ------------------------------------------------------------------------------ complaint
$("ag-complaint-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const ticket = await api("/api/complaints", {
      method: "POST",
      body: {
        reason: $("complaint-reason").value, note: $("complaint-note").value.trim(),
        customer_id: desk.customer ? desk.customer.id : null,
        caller: desk.phone || (desk.call && desk.call.caller) || "",
        call_id: desk.call ? desk.call.call_id : null,
      },
    });
    toast(t("agent.complaint.filed", { id: ticket.id }), "ok");
    $("complaint-note").value = "";
    if (desk.customer) {
      const complaints = await api(`/api/customers/${desk.customer.id}/complaints`).catch(() => []);
      showCustomer(desk.customer, complaints, desk.phone);
    }
  } catch (error) { showError(error); }
});

// ------------------------------------------------------------------------------ calls today
async function loadToday() {
  const calls = await api("/api/agents/me/calls");
  const talk = calls.reduce((sum, c) => sum + (c.talk_seconds || 0), 0);
  $("ag-today-summary").textContent = t("agent.today.summary", { count: calls.length, talk: duration(talk) });
  fill($("ag-today-rows"), calls.length
    ? calls.map((c) => el("tr", {},
      el("td", {}, when(c.started_at)),
      el("td", { class: "wl-mono" }, c.caller),
      el("td", {}, c.queue || "—"),
      el("td", { class: "num" }, duration(c.wait_seconds)),
      el("td", { class: "num" }, duration(c.talk_seconds)),
      el("td", {}, c.outcome ? el("span", { class: "wl-tag" }, t(`calls.outcome.${c.outcome}`)) : t("agent.today.open"))))
    : el("tr", {}, el("td", { colspan: 6, class: "wl-muted" }, t("agent.today.none"))));
}
$("ag-today-refresh").addEventListener("click", () => loadToday().catch(showError));

// ------------------------------------------------------------------------------- keyboard
document.addEventListener("keydown", (event) => {
  const inField = event.target instanceof HTMLElement && event.target.closest("input, select, textarea");
  if (event.key === "F2") { event.preventDefault(); setState("available"); }
  else if (event.key === "F3") { event.preventDefault(); setState("paused"); }
  else if (event.key === "F4" || (event.key === "/" && !inField)) {
    event.preventDefault();
    $("ag-search-phone").focus();
    $("ag-search-phone").select();
  } else if (event.key === "Enter" && !inField && !$("ag-order").hidden
    && !(event.target instanceof HTMLButtonElement)) {
    event.preventDefault();
    $("ag-order-form").requestSubmit();
  } else if (event.key === "Escape") {
    $("ag-new-customer").hidden = true;
  }
});

// ---------------------------------------------------------------------------------- start
async function loadReference() {
  const [products, stations, districts] = await Promise.all([
    api("/api/products"), api("/api/stations"), api("/api/regions/districts"),
  ]);
  reference.products = products.filter((p) => p.active);
  reference.productsById = new Map(products.map((p) => [p.id, p]));
  reference.stations = stations;
  reference.districts = districts;
  const options = reference.products.map((p) => el("option", { value: p.id }, `${p.name}  ${money(p.price_fen)}`));
  fill($("order-product"), options);
  fill($("nc-product"), el("option", { value: "" }, t("agent.customer.no_usual")),
    reference.products.map((p) => el("option", { value: p.id }, p.name)));
  fill($("wrapup-code"), ["order", "inquiry", "complaint", "callback", "wrong_number", "nuisance", "other"]
    .map((code) => el("option", { value: code }, t(`agent.disposition.${code}`))));
}

setInterval(tick, 1000);
await loadReference().catch(showError);
loadState().catch(showError);
loadToday().catch(showError);
live("/ws/agent", onLive, onLiveStatus);
