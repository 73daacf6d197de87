// The audit log: GET /api/audit filtered by day (local), resource and user, newest first, paged.
import { api, el, fill, showError, t, when } from "../console.js";

const PAGE = 100;
const rows = document.getElementById("audit-rows");
const more = document.getElementById("audit-more");
let offset = 0;
let shown = 0;

const ACTION_KIND = { POST: "ok", PUT: "info", PATCH: "info", DELETE: "bad" };

function today() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  return parts; // YYYY-MM-DD
}

function nextDay(day) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

function resourceName(resource) {
  const key = `audit.resource.${resource}`;
  const text = t(key);
  return text === key ? resource : text;
}

function row(entry) {
  const who = entry.user_id === null ? t("audit.anonymous")
    : `${entry.display_name || entry.username || `#${entry.user_id}`}`;
  return el("tr", { dataset: { id: entry.id } },
    el("td", {}, when(entry.at, true)),
    el("td", {}, who, entry.role ? el("span", { class: "wl-muted" }, ` ${t(`role.${entry.role}`)}`) : null),
    el("td", {}, el("span", { class: `wl-tag ${ACTION_KIND[entry.method] || ""}` }, t(`audit.method.${entry.method}`)),
      " ", el("span", { class: "wl-mono wl-muted" }, entry.route)),
    el("td", {}, resourceName(entry.resource)),
    el("td", { class: "wl-mono" }, entry.target || "—"),
    el("td", { class: "au-summary", title: entry.summary }, entry.summary || "—"));
}

async function load(append = false) {
  const day = document.getElementById("audit-day").value || today();
  if (!append) { offset = 0; shown = 0; }
  const entries = await api("/api/audit", {
    query: {
      from: `${day}T00:00:00`, to: `${nextDay(day)}T00:00:00`,
      resource: document.getElementById("audit-resource").value,
      user_id: document.getElementById("audit-user").value,
      limit: PAGE, offset,
    },
  });
  offset += entries.length;
  shown = append ? shown + entries.length : entries.length;
  if (append) rows.append(...entries.map(row));
  else fill(rows, entries.length ? entries.map(row) : el("tr", {}, el("td", { colspan: 6, class: "wl-empty" }, t("audit.none"))));
  more.hidden = entries.length < PAGE;
  document.getElementById("audit-count").textContent = t("audit.count", { count: shown });
}

async function loadUsers() {
  const users = await api("/api/users").catch(() => []);
  const select = document.getElementById("audit-user");
  for (const user of users) {
    select.append(el("option", { value: user.id }, `${user.display_name || user.username}（${t(`role.${user.role}`)}）`));
  }
}

document.getElementById("audit-day").value = today();
document.getElementById("audit-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  load().catch(showError);
});
more.addEventListener("click", () => load(true).catch(showError));
loadUsers();
load().catch(showError);
