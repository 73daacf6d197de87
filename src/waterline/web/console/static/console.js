// The console's shared module: catalogue, API calls, DOM helpers, live WebSocket, shell behaviour.
// Pages import it as "../console.js" (an ES module: no build step, no globals).

const clientData = JSON.parse(document.getElementById("wl-client")?.textContent || "{}");

/** What the server gave this page: {lang, messages, user, ...page extras}. */
export const client = clientData;
export const lang = clientData.lang || "zh-CN";
const messages = clientData.messages || {};

/** The text of `key` in the page's language, `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  return text.replace(/\{([a-z_][a-z0-9_]*)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

/** An error answered by the API: `status`, `code` and the message in the page's language. */
export class ApiError extends Error {
  constructor(status, body) {
    const message = body && (lang === "en" ? body.message_en : body.message_zh);
    super(message || t("shell.error.http", { status }));
    this.status = status;
    this.code = body && body.error;
    this.body = body;
  }
}

function goToLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/**
 * Call the REST API with the session cookie. `body` is sent as JSON (or as is for FormData);
 * `query` becomes the query string (null/undefined/"" values left out). Returns the parsed JSON
 * (null for 204). Throws ApiError; on 401 the browser goes to the login page.
 */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === null || value === undefined || value === "") continue;
      if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
      else params.append(key, value);
    }
    const text = params.toString();
    if (text) url += (url.includes("?") ? "&" : "?") + text;
  }
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, signal };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { error: "network", message_zh: t("shell.error.network"), message_en: t("shell.error.network") });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.status === 401 && !path.startsWith("/api/auth/login")) {
    goToLogin();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/**
 * Build an element: el("button", {class: "wl-btn", onclick: f, dataset: {id: 1}}, "text", child).
 * Attributes starting with "on" become listeners; false/null attributes and children are skipped.
 * Text is always text (never parsed as HTML).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Replace the children of `node` with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A short message in the corner; kind is "ok", "warn", "bad" or "info". */
export function toast(message, kind = "info", ms = 4000) {
  const box = document.getElementById("wl-toasts");
  if (!box) return;
  const item = el("div", { class: `wl-toast ${kind}`, role: kind === "bad" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}

/** Show an API error (or any error) as a toast. */
export function showError(error) {
  toast(error instanceof ApiError ? error.message : t("shell.error.unexpected"), "bad", 6000);
  if (!(error instanceof ApiError)) console.error(error);
}

/** Money in fen as yuan text: 1850 -> "¥18.50". */
export function money(cents) {
  if (cents === null || cents === undefined) return "—";
  return `¥${(cents / 100).toFixed(2)}`;
}

const timeFormat = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN",
  { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
const dateTimeFormat = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN",
  { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });

/** An ISO timestamp as Beijing time of day ("14:05"), or with the date when `withDate`. */
export function when(iso, withDate = false) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return (withDate ? dateTimeFormat : timeFormat).format(date);
}

/** Seconds as m:ss (or h:mm:ss). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/**
 * A WebSocket to `path` on this server that reconnects (1 s, doubling to 30 s) until `close()`.
 * `onMessage` gets each parsed JSON message; `onStatus` gets "open" / "closed".
 */
export function live(path, onMessage, onStatus = () => {}) {
  let socket = null, delay = 1000, stopped = false, timer = null;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  function connect() {
    socket = new WebSocket(url);
    socket.addEventListener("open", () => { delay = 1000; onStatus("open"); });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      onMessage(data);
    });
    socket.addEventListener("close", (event) => {
      onStatus("closed", event.code);
      if (stopped) return;
      if (event.code === 4401 || event.code === 1008) { goToLogin(); return; }
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
  return {
    send(data) { if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(data)); },
    close() { stopped = true; clearTimeout(timer); if (socket) socket.close(); },
  };
}

// Shell: logout button and the mobile menu toggle.
document.getElementById("wl-logout")?.addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } catch { /* logged out anyway */ }
  location.assign("/login");
});
document.getElementById("wl-menu-toggle")?.addEventListener("click", () => {
  document.body.classList.toggle("wl-nav-open");
});
