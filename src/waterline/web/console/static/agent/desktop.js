// The agent desktop: state control (POST /api/agents/me/state), the caller's card, ordering.
import { api, client, duration, showError, t, toast } from "../console.js";

const me = client.user;
const stateTag = document.getElementById("ag-state");
const stateSince = document.getElementById("ag-state-since");
const stateReason = document.getElementById("ag-state-reason");
const reasonSelect = document.getElementById("ag-pause-reason");

const STATE_KIND = {
  available: "ok", ringing: "warn", on_call: "info", wrap_up: "warn", paused: "bad", logged_out: "",
};

let current = { state: null, since: null, reason: "" };

function showState() {
  stateTag.textContent = current.state ? t(`agent.state.${current.state}`) : "—";
  stateTag.className = `wl-tag ${STATE_KIND[current.state] || ""}`;
  stateTag.dataset.state = current.state || "";
  stateReason.textContent = current.state === "paused" && current.reason ? `（${current.reason}）` : "";
  tick();
  for (const button of document.querySelectorAll(".ag-state-actions [data-state]")) {
    button.disabled = button.dataset.state === current.state && current.state !== "paused";
  }
}

function tick() {
  if (!current.since) { stateSince.textContent = ""; return; }
  const seconds = (Date.now() - new Date(current.since).getTime()) / 1000;
  stateSince.textContent = t("agent.state.for", { duration: duration(seconds) });
}

async function loadState() {
  const agents = await api("/api/agents");
  const mine = agents.find((agent) => agent.id === me.id);
  if (mine) current = { state: mine.state, since: mine.since, reason: mine.reason };
  showState();
}

export async function setState(state) {
  const reason = state === "paused" ? reasonSelect.value : "";
  try {
    const change = await api("/api/agents/me/state", { method: "POST", body: { state, reason } });
    current = { state: change.to_state, since: change.at, reason: change.reason };
    showState();
    toast(t("agent.state.changed", { state: t(`agent.state.${change.to_state}`) }), "ok", 2500);
  } catch (error) {
    showError(error);
  }
}

for (const button of document.querySelectorAll(".ag-state-actions [data-state]")) {
  button.addEventListener("click", () => setState(button.dataset.state));
}
document.addEventListener("keydown", (event) => {
  if (event.key === "F2") { event.preventDefault(); setState("available"); }
  else if (event.key === "F3") { event.preventDefault(); setState("paused"); }
});
setInterval(tick, 1000);
loadState().catch(showError);
