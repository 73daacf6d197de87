// The dispatch board: /api/board once, then /api/board/changes every few seconds (new orders appear
// without a reload); dispatch a placed order or reassign a dispatched one; an offline SVG map.
import { api, el, fill, showError, t, toast, when } from "../console.js";

const POLL_MS = 3000;
const ISSUES_MS = 15000;
// the snapshot is the expensive read (every open order with its customer): the change feed keeps the
// board current, the snapshot is only a safety net (and turns the day over)
const RELOAD_MS = 300000;
const COLUMNS = ["placed", "dispatched", "delivering", "delivered"];
const OPEN = new Set(["placed", "dispatched", "delivering"]);

const board = {
  cursor: 0,
  orders: new Map(),
  stations: [],
  couriers: new Map(),
  products: new Map(),
  fresh: new Set(),
  // open delivery problems reported by couriers (call-back tasks whose note starts with the order number)
  issues: [],
  station: "",
  loadedAt: 0,
};

const $ = (id) => document.getElementById(id);

function isOverdue(order) {
  if (!OPEN.has(order.state)) return false;
  const promise = order.eta || order.window_end;
  return Boolean(promise) && new Date(promise).getTime() < Date.now();
}

function setLive(ok) {
  const tag = $("db-live");
  tag.className = `wl-tag ${ok ? "ok" : "bad"}`;
  tag.dataset.live = ok ? "on" : "off";
  tag.textContent = ok ? t("dispatch.live.on") : t("dispatch.live.off");
  $("db-updated").textContent = t("dispatch.updated", { time: when(new Date().toISOString()) });
}

function itemsText(order) {
  return order.items
    .map((item) => `${board.products.get(item.product_id) || `#${item.product_id}`} ×${item.quantity}`)
    .join("，");
}

function stationName(id) {
  const column = board.stations.find((c) => c.station.id === id);
  return column ? column.station.name : t("dispatch.no_station");
}

function courierOptions(order) {
  // the order's own station first, then the others; off-duty couriers are left out
  const all = [...board.couriers.values()].filter((c) => c.on_duty && c.id !== order.courier_id);
  all.sort((a, b) => (a.station_id === order.station_id ? 0 : 1) - (b.station_id === order.station_id ? 0 : 1)
    || a.load - b.load || a.id - b.id);
  return all.map((c) => el("option", { value: String(c.id) },
    t("dispatch.courier_option", { name: c.name, station: stationName(c.station_id), load: c.load, capacity: c.capacity_per_trip })));
}

async function assign(order, select, button) {
  const courierId = Number(select.value);
  if (!courierId) return;
  button.disabled = true;
  try {
    const reassign = order.state === "dispatched";
    const path = reassign ? `/api/orders/${order.id}/reassign` : `/api/orders/${order.id}/dispatch`;
    const done = await api(path, { method: "POST", body: { courier_id: courierId } });
    const courier = board.couriers.get(done.courier_id);
    toast(t(reassign ? "dispatch.reassigned" : "dispatch.dispatched", { number: done.number, courier: courier ? courier.name : "" }), "ok");
    await followChanges();
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
}

function issueOf(order) {
  return board.issues.find((task) => task.note.startsWith(`${order.number} `));
}

function orderCard(order) {
  const overdue = isOverdue(order);
  const issue = OPEN.has(order.state) ? issueOf(order) : undefined;
  const contact = order.contact || {};
  const courier = board.couriers.get(order.courier_id);
  const promise = order.eta || order.window_end;
  const card = el("article", {
    class: `db-order${overdue ? " overdue" : ""}${board.fresh.has(order.id) ? " fresh" : ""}`,
    dataset: { orderId: String(order.id), number: order.number, state: order.state, overdue: overdue ? "yes" : "no" },
  },
  el("div", { class: "db-order-head" },
    el("span", { class: "db-number" }, order.number),
    overdue ? el("span", { class: "wl-tag bad" }, t("dispatch.overdue")) : null,
    issue ? el("span", { class: "wl-tag warn", title: issue.note, dataset: { issue: String(issue.id) } }, t("dispatch.issue")) : null,
    order.pay_with_tickets ? el("span", { class: "wl-tag info" }, t("dispatch.tickets")) : null),
  // finished orders come without the contact (the board is about the work still to do)
  order.contact ? el("div", { class: "db-line" }, el("b", {}, contact.name || "—"), " ", (contact.phones || [])[0] || "") : null,
  order.contact ? el("div", { class: "db-line" }, contact.address ? contact.address.text : "—") : null,
  order.state === "delivered" ? el("div", { class: "db-meta" }, t("dispatch.delivered_line", { empties: order.empties_collected, tickets: order.tickets_used })) : null,
  el("div", { class: "db-line" }, itemsText(order)),
  el("div", { class: "db-meta" },
    t("dispatch.placed_at", { time: when(order.placed_at) }),
    promise ? ` · ${t("dispatch.promise", { time: when(promise) })}` : "",
    order.station_id ? ` · ${stationName(order.station_id)}` : ""),
  courier ? el("div", { class: "db-meta" }, t("dispatch.courier", { name: courier.name })) : null,
  order.note ? el("div", { class: "db-meta" }, t("dispatch.note", { note: order.note })) : null);
  if (order.state === "placed" || order.state === "dispatched") {
    const select = el("select", { class: "wl-input", dataset: { role: "courier-select" }, "aria-label": t("dispatch.choose_courier") },
      el("option", { value: "" }, t("dispatch.choose_courier")), courierOptions(order));
    const button = el("button", { class: `wl-btn small ${order.state === "placed" ? "primary" : ""}`, type: "button", dataset: { action: "assign" } },
      order.state === "placed" ? t("dispatch.assign") : t("dispatch.reassign"));
    button.addEventListener("click", () => assign(order, select, button));
    card.append(el("div", { class: "db-assign" }, select, button));
  }
  return card;
}

function render() {
  const visible = [...board.orders.values()].filter((o) => COLUMNS.includes(o.state));
  for (const state of COLUMNS) {
    const orders = visible.filter((o) => o.state === state);
    // open orders: most urgent first; delivered: newest first
    orders.sort(state === "delivered"
      ? (a, b) => b.id - a.id
      : (a, b) => (Number(isOverdue(b)) - Number(isOverdue(a)))
        || String(a.eta || a.window_end || a.placed_at).localeCompare(String(b.eta || b.window_end || b.placed_at)));
    const box = document.querySelector(`[data-cards="${state}"]`);
    fill(box, orders.length ? orders.map(orderCard) : el("div", { class: "wl-empty" }, t("shell.empty")));
    document.querySelector(`[data-count="${state}"]`).textContent = String(orders.length);
  }
  const overdue = visible.filter(isOverdue).length;
  fill($("db-summary"),
    t("dispatch.summary.open"), el("b", {}, String(visible.filter((o) => OPEN.has(o.state)).length)),
    " · ", t("dispatch.summary.overdue"), el("b", { class: overdue ? "bad" : "" }, String(overdue)));
  renderStations(visible);
  renderMap(visible);
  board.fresh.clear();
}

function renderStations(orders) {
  const rows = board.stations.map((column) => {
    const mine = orders.filter((o) => o.station_id === column.station.id);
    const count = (state) => String(mine.filter((o) => o.state === state).length);
    const late = mine.filter(isOverdue).length;
    return el("tr", { dataset: { stationId: String(column.station.id) } },
      el("td", {}, column.station.name),
      ...COLUMNS.map((state) => el("td", { class: "num" }, count(state))),
      el("td", { class: "num" }, late ? el("span", { class: "wl-tag bad" }, String(late)) : "0"));
  });
  fill($("db-station-rows"), rows.length ? rows : el("tr", {}, el("td", { colspan: "6", class: "wl-empty" }, t("shell.empty"))));
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function renderMap(orders) {
  const stations = board.stations.map((c) => c.station);
  const dots = orders.filter((o) => OPEN.has(o.state) && o.lat !== null && o.lon !== null);
  // fit the open orders and their stations (a far-away station with nothing open would squeeze the
  // city into a corner); with nothing open, every station
  const busy = new Set(dots.map((o) => o.station_id));
  const focus = dots.length ? stations.filter((s) => busy.has(s.id)) : stations;
  const points = [...focus.map((s) => [s.lat, s.lon]), ...dots.map((o) => [o.lat, o.lon])];
  const box = $("db-map");
  if (!points.length) { fill(box, el("div", { class: "wl-empty" }, t("shell.empty"))); return; }
  let [minLat, maxLat, minLon, maxLon] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [lat, lon] of points) {
    minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat);
    minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon);
  }
  // equirectangular with the longitude shrunk by cos(latitude): right enough for one province
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = Math.max((maxLon - minLon) * kx, 0.06), spanY = Math.max(maxLat - minLat, 0.06);
  const width = 340, pad = 28;
  const scale = (width - 2 * pad) / Math.max(spanX, spanY * 0.9);
  const height = Math.min(Math.max(spanY * scale + 2 * pad, 200), 420);
  const cx = (minLon + maxLon) / 2, cy = (minLat + maxLat) / 2;
  const x = (lon) => width / 2 + (lon - cx) * kx * scale;
  const y = (lat) => height / 2 - (lat - cy) * scale;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, "data-dots": dots.length });
  for (let gx = 0; gx <= width; gx += 34) root.append(svg("line", { class: "grid", x1: gx, y1: 0, x2: gx, y2: height }));
  for (let gy = 0; gy <= height; gy += 34) root.append(svg("line", { class: "grid", x1: 0, y1: gy, x2: width, y2: gy }));
  for (const order of dots) {
    const kind = isOverdue(order) ? "overdue" : order.state;
    root.append(svg("circle", { class: `order-dot ${kind}`, cx: x(order.lon).toFixed(1), cy: y(order.lat).toFixed(1), r: 5, "data-order-id": order.id },
      svg("title", {}, `${order.number} ${(order.contact || {}).name || ""}`)));
  }
  // labels: left of the mark on the right half; a label that would cover another is left to the
  // tooltip (stations of one city sit close together)
  const placed = [];
  for (const station of stations) {
    const sx = x(station.lon), sy = y(station.lat);
    root.append(svg("rect", { class: "station-mark", x: (sx - 6).toFixed(1), y: (sy - 6).toFixed(1), width: 12, height: 12, rx: 2, "data-station-id": station.id },
      svg("title", {}, station.name)));
    const w = station.name.length * 11 + 4;
    const left = sx > width / 2;
    const box = { x1: left ? sx - 9 - w : sx + 9, x2: left ? sx - 9 : sx + 9 + w, y1: sy - 8, y2: sy + 8 };
    const marks = stations.filter((o) => o !== station).map((o) => ({ x1: x(o.lon) - 6, x2: x(o.lon) + 6, y1: y(o.lat) - 6, y2: y(o.lat) + 6 }));
    if (box.x1 < 0 || box.x2 > width || box.y1 < 0 || box.y2 > height) continue;
    if ([...placed, ...marks].some((o) => box.x1 < o.x2 && o.x1 < box.x2 && box.y1 < o.y2 && o.y1 < box.y2)) continue;
    placed.push(box);
    root.append(svg("text", { class: "station-label", x: (left ? sx - 9 : sx + 9).toFixed(1), y: (sy + 4).toFixed(1),
      "text-anchor": left ? "end" : "start" }, station.name));
  }
  fill(box, root);
}

function renderIssues() {
  const card = $("db-issues-card");
  card.hidden = board.issues.length === 0;
  $("db-issues-count").textContent = String(board.issues.length);
  fill($("db-issues"), board.issues.map((task) => {
    const done = el("button", { class: "wl-btn small", type: "button", dataset: { action: "issue-done" } }, t("dispatch.issue_done"));
    done.addEventListener("click", async () => {
      done.disabled = true;
      try {
        await api(`/api/tasks/${task.id}/done`, { method: "POST" });
        await loadIssues();
        render();
      } catch (error) {
        showError(error);
        done.disabled = false;
      }
    });
    return el("div", { class: "db-issue", dataset: { taskId: String(task.id) } },
      el("div", {}, task.note),
      el("div", { class: "db-meta" }, when(task.created_at), " · ",
        task.caller ? el("a", { href: `tel:${task.caller}` }, task.caller) : "—"),
      done);
  }));
}

async function loadIssues() {
  try {
    const tasks = await api("/api/tasks", { query: { state: "open", limit: 200 } });
    board.issues = tasks.filter((task) => task.kind === "delivery_issue");
  } catch (error) {
    board.issues = [];
  }
  renderIssues();
}

async function load() {
  try {
    const data = await api("/api/board", { query: { station_id: board.station } });
    board.cursor = data.cursor;
    board.stations = data.stations;
    board.couriers = new Map(data.stations.flatMap((c) => c.couriers).map((c) => [c.id, c]));
    board.orders = new Map(data.orders.map((o) => [o.id, o]));
    board.loadedAt = Date.now();
    if (!$("db-station").dataset.filled) fillStations(data.stations);
    render();
    setLive(true);
  } catch (error) {
    setLive(false);
    showError(error);
  }
}

function fillStations(columns) {
  const select = $("db-station");
  for (const column of columns) select.append(el("option", { value: String(column.station.id) }, column.station.name));
  select.dataset.filled = "yes";
}

async function followChanges() {
  const data = await api("/api/board/changes", { query: { after: board.cursor, station_id: board.station } });
  if (data.cursor < board.cursor) { await load(); return; }
  board.cursor = data.cursor;
  let changed = false;
  for (const order of data.orders) {
    const before = board.orders.get(order.id);
    if (!before) {
      board.fresh.add(order.id);
      toast(t("dispatch.new_order", { number: order.number }), "info");
    }
    if (!before || JSON.stringify(before) !== JSON.stringify(order)) changed = true;
    board.orders.set(order.id, order);
  }
  // a courier's load changed with the orders: refresh the couriers offered in the lists
  if (changed) {
    try {
      const couriers = await api("/api/couriers", { query: { station_id: board.station } });
      board.couriers = new Map(couriers.map((c) => [c.id, c]));
    } catch (error) { /* the lists keep the loads seen last */ }
    render();
  }
}

async function poll() {
  try {
    if (Date.now() - board.loadedAt > RELOAD_MS) await load();
    else await followChanges();
    setLive(true);
  } catch (error) {
    setLive(false);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function start() {
  try {
    const products = await api("/api/products");
    board.products = new Map(products.map((p) => [p.id, p.name]));
  } catch (error) {
    showError(error);
  }
  $("db-station").addEventListener("change", (event) => { board.station = event.target.value; load(); });
  $("db-refresh").addEventListener("click", () => load());
  await loadIssues();
  await load();
  setTimeout(poll, POLL_MS);
  setInterval(async () => { await loadIssues(); render(); }, ISSUES_MS);
}

start();
