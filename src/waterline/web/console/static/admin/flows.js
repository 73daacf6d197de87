// Flow editor: YAML with line numbers, inline validation errors (node, field, line), save draft,
// publish, and the flow's diagram (layout computed by the server: POST /api/flows/{name}/check).
import { api, ApiError, el, fill, lang, showError, t, toast, when } from "../console.js";
import { button, card, may, root } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const LINE_HEIGHT = 20;
const CHECK_DELAY_MS = 600;
const canEdit = may("flows.manage");

const state = {
  flows: [],
  name: null,        // the flow being edited
  versions: [],
  version: null,     // the version loaded into the editor (null: a new flow)
  lastGood: null,    // the last diagram drawn
  problem: null,
  scale: 0.8,
  fitted: null,      // the flow the scale was last fitted to
  checkTimer: null,
  checkSeq: 0,
};

const NEW_FLOW = (name) => `name: ${name}
description: 新流程 / new flow
start: welcome
nodes:
  welcome:
    kind: play
    say: [{text: 您好，欢迎致电送水热线。}]
    next: bye
  bye: {kind: hangup, say: [{prompt: goodbye}]}
`;

// ---------------------------------------------------------------- layout of the page
const flowSelect = el("select", { class: "admin-select", id: "flow-select", "aria-label": t("admin.flows.flow") });
const versionSelect = el("select", { class: "admin-select", id: "version-select", "aria-label": t("admin.flows.version") });
const info = el("span", { class: "admin-flow-info", id: "flow-info" });
const newName = el("input", { class: "admin-name-input", id: "new-flow-name", placeholder: t("admin.flows.new_name"), hidden: !canEdit });
const newButton = button(t("admin.flows.new"), () => startNewFlow(), "", { id: "new-flow", hidden: !canEdit });

const gutter = el("pre", { class: "flow-gutter", "aria-hidden": "true" });
const marker = el("div", { class: "flow-error-band", hidden: true });
const editor = el("textarea", {
  class: "flow-text", id: "flow-text", spellcheck: false, wrap: "off", readOnly: !canEdit,
  "aria-label": t("admin.flows.yaml"), autocomplete: "off",
});
const problemBox = el("div", { class: "flow-problem", id: "flow-problem", role: "status" });
const checkButton = button(t("admin.flows.check"), () => check(true), "", { id: "flow-check" });
const saveButton = button(t("admin.flows.save_draft"), () => save(false), "", { id: "flow-save", hidden: !canEdit });
const publishButton = button(t("admin.flows.save_publish"), () => save(true), "primary", { id: "flow-publish", hidden: !canEdit });
const publishVersionButton = button(t("admin.flows.publish_version"), () => publishVersion(), "", { id: "flow-publish-version", hidden: true });

const diagramBox = el("div", { class: "flow-diagram", id: "flow-diagram" });
const diagramNote = el("span", { class: "wl-muted", id: "diagram-note" });

fill(root,
  el("div", { class: "wl-toolbar admin-flow-toolbar" },
    el("label", { class: "admin-label" }, t("admin.flows.flow"), flowSelect),
    el("label", { class: "admin-label" }, t("admin.flows.version"), versionSelect),
    info, el("span", { class: "spacer" }), newName, newButton),
  el("div", { class: "flow-layout" },
    card(t("admin.flows.yaml"), [checkButton, saveButton, publishButton, publishVersionButton],
      el("div", { class: "flow-editor" }, gutter, el("div", { class: "flow-text-wrap" }, marker, editor)),
      problemBox,
      canEdit ? null : el("p", { class: "wl-muted" }, t("admin.flows.read_only"))),
    card(t("admin.flows.diagram"), [diagramNote,
      button("−", () => zoom(1 / 1.25), "ghost", { title: t("admin.flows.zoom_out"), id: "zoom-out" }),
      button("+", () => zoom(1.25), "ghost", { title: t("admin.flows.zoom_in"), id: "zoom-in" })],
      diagramBox,
      el("p", { class: "wl-muted flow-legend" }, t("admin.flows.legend")))));

// ---------------------------------------------------------------- editor: gutter, error line
function lineCount() {
  return editor.value.split("\n").length;
}

function renderGutter() {
  const bad = state.problem && state.problem.line;
  fill(gutter, Array.from({ length: lineCount() }, (_, i) =>
    el("span", { class: i + 1 === bad ? "bad" : null }, String(i + 1) + "\n")));
  gutter.scrollTop = editor.scrollTop;
  placeMarker();
}

function placeMarker() {
  const line = state.problem && state.problem.line;
  marker.hidden = !line;
  if (line) marker.style.top = `${8 + (line - 1) * LINE_HEIGHT - editor.scrollTop}px`;
}

editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; placeMarker(); });
editor.addEventListener("input", () => {
  renderGutter();
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(() => check(false), CHECK_DELAY_MS);
});
editor.addEventListener("keydown", (event) => {
  // Tab indents by two spaces (YAML has no tabs) instead of leaving the editor
  if (event.key === "Tab" && !event.shiftKey && canEdit) {
    event.preventDefault();
    const { selectionStart: start, selectionEnd: end } = editor;
    editor.setRangeText("  ", start, end, "end");
    editor.dispatchEvent(new Event("input"));
  }
});

function goToLine(line) {
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, text) => n + text.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
  editor.scrollTop = Math.max(0, (line - 4) * LINE_HEIGHT);
}

function nodeLine(id) {
  const lines = editor.value.split("\n");
  const pattern = new RegExp(`^\\s+${id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*:`);
  const index = lines.findIndex((text) => pattern.test(text));
  return index < 0 ? null : index + 1;
}

function where(problem) {
  const parts = [];
  if (problem.line) parts.push(t("admin.flows.at_line", { line: problem.line }));
  if (problem.node) parts.push(t("admin.flows.at_node", { node: problem.node }));
  if (problem.field) parts.push(t("admin.flows.at_field", { field: problem.field }));
  return parts.join(" · ");
}

function showProblem(problem, unreachable = []) {
  state.problem = problem;
  if (problem) {
    const message = lang === "en" ? problem.message_en : problem.message_zh;
    fill(problemBox,
      el("div", { class: "flow-problem-bad", id: "flow-error" },
        el("strong", {}, t("admin.flows.invalid")), " ",
        el("span", { class: "flow-where", id: "flow-error-where" }, where(problem)),
        el("div", { class: "flow-message" }, message),
        problem.line ? button(t("admin.flows.go_to_line"), () => goToLine(problem.line), "ghost") : null));
  } else {
    fill(problemBox, el("div", { class: "flow-problem-ok", id: "flow-ok" }, "✓ ", t("admin.flows.valid"),
      unreachable.length ? el("span", { class: "wl-tag warn" }, t("admin.flows.unreachable", { nodes: unreachable.join(", ") })) : null));
  }
  renderGutter();
}

// ---------------------------------------------------------------- checking and saving
async function check(explicit) {
  if (!state.name || !editor.value.trim()) return null;
  const seq = ++state.checkSeq;
  try {
    const result = await api(`/api/flows/${encodeURIComponent(state.name)}/check`, { method: "POST", body: { text: editor.value } });
    if (seq !== state.checkSeq) return result; // a newer check is on its way
    showProblem(result.problem, result.unreachable);
    if (result.diagram) {
      state.lastGood = result.diagram;
      diagramNote.textContent = "";
    } else {
      diagramNote.textContent = t("admin.flows.diagram_stale");
    }
    drawDiagram();
    if (explicit && result.valid) toast(t("admin.flows.valid"), "ok");
    return result;
  } catch (error) {
    showError(error);
    return null;
  }
}

async function save(publish) {
  const result = await check(false);
  if (!result) return;
  if (!result.valid) {
    toast(t("admin.flows.not_saved"), "bad", 6000);
    if (result.problem && result.problem.line) goToLine(result.problem.line);
    return;
  }
  try {
    const saved = await api(`/api/flows/${encodeURIComponent(state.name)}/versions`,
      { method: "POST", body: { text: editor.value, publish } });
    toast(t(publish ? "admin.flows.published" : "admin.flows.saved", { version: saved.version }), "ok");
    await loadFlows(state.name, saved.version);
  } catch (error) {
    if (error instanceof ApiError && error.body && error.body.error === "flow.invalid") {
      showProblem({ ...error.body, line: null });
    }
    showError(error);
  }
}

async function publishVersion() {
  if (!state.version) return;
  try {
    await api(`/api/flows/${encodeURIComponent(state.name)}/publish`, { method: "POST", body: { version: state.version } });
    toast(t("admin.flows.published", { version: state.version }), "ok");
    await loadFlows(state.name, state.version);
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------- flows and versions
const prettyDid = (did) => (/^400\d{7}$/.test(did) ? `${did.slice(0, 3)}-${did.slice(3, 6)}-${did.slice(6)}` : did);

async function loadFlows(select = null, version = null) {
  state.flows = await api("/api/flows");
  fill(flowSelect, state.flows.map((f) => el("option", { value: f.name }, f.name)));
  const name = select || (state.flows.find((f) => f.name === "default") || state.flows[0] || {}).name;
  if (name) {
    flowSelect.value = name;
    await openFlow(name, version);
  }
}

async function openFlow(name, version = null) {
  state.name = name;
  const flow = state.flows.find((f) => f.name === name);
  state.versions = await api(`/api/flows/${encodeURIComponent(name)}/versions`);
  fill(versionSelect, state.versions.map((v) => el("option", { value: String(v.version) },
    `v${v.version}${v.current ? ` · ${t("admin.flows.current")}` : ""} · ${v.author} · ${when(v.created_at, true)}`)));
  const chosen = version || (flow && (flow.current_version || flow.latest_version));
  if (chosen) {
    versionSelect.value = String(chosen);
    await openVersion(chosen);
  }
  renderInfo();
}

async function openVersion(version) {
  const loaded = await api(`/api/flows/${encodeURIComponent(state.name)}/versions/${version}`);
  state.version = version;
  editor.value = loaded.text;
  editor.scrollTop = 0;
  renderInfo();
  await check(false);
}

function renderInfo() {
  const flow = state.flows.find((f) => f.name === state.name);
  const current = flow ? flow.current_version : null;
  fill(info,
    current ? el("span", { class: "wl-tag ok" }, t("admin.flows.current_is", { version: current }))
      : el("span", { class: "wl-tag warn" }, t("admin.flows.unpublished")),
    flow && flow.dids.length ? el("span", { class: "wl-tag info" }, t("admin.flows.numbers", { dids: flow.dids.map(prettyDid).join(", ") })) : null);
  publishVersionButton.hidden = !canEdit || !state.version || state.version === current;
}

function startNewFlow() {
  const name = newName.value.trim();
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
    toast(t("admin.flows.bad_name"), "bad");
    newName.focus();
    return;
  }
  if (state.flows.some((f) => f.name === name)) {
    flowSelect.value = name;
    openFlow(name).catch(showError);
    return;
  }
  state.name = name;
  state.version = null;
  state.versions = [];
  fill(flowSelect, [...state.flows.map((f) => el("option", { value: f.name }, f.name)), el("option", { value: name }, name)]);
  flowSelect.value = name;
  fill(versionSelect, el("option", { value: "" }, t("admin.flows.new_version")));
  fill(info, el("span", { class: "wl-tag warn" }, t("admin.flows.unsaved")));
  editor.value = NEW_FLOW(name);
  renderGutter();
  check(false);
}

flowSelect.addEventListener("change", () => openFlow(flowSelect.value).catch(showError));
versionSelect.addEventListener("change", () => {
  if (versionSelect.value) openVersion(Number(versionSelect.value)).catch(showError);
});

// ---------------------------------------------------------------- the diagram
const KIND_CLASS = {
  play: "say", hangup: "say",
  menu: "input", collect: "input", survey: "input",
  branch: "logic", set: "logic",
  identify: "business", reorder: "business", order_status: "business", complaint: "business", clock: "business",
  queue: "people", transfer: "people", voicemail: "people",
};

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function edgeLabel(edge) {
  const field = edge.field;
  if (field.startsWith("options.")) return field.slice("options.".length);
  if (field.startsWith("cases.")) return t("admin.flows.edge.case", { n: Number(field.split(".")[1]) + 1 });
  if (field === "on_failure") return t("admin.flows.edge.failure");
  if (field === "on_error") return t("admin.flows.edge.error");
  if (field === "else") return t("admin.flows.edge.else");
  return "";
}

function zoom(factor) {
  state.scale = Math.min(2, Math.max(0.3, state.scale * factor));
  drawDiagram();
}

function drawDiagram() {
  const diagram = state.lastGood;
  if (!diagram) {
    fill(diagramBox, el("div", { class: "wl-empty" }, t("admin.flows.no_diagram")));
    return;
  }
  const w = diagram.node_width, h = diagram.node_height;
  if (state.fitted !== state.name && diagramBox.clientWidth) {
    // a new flow starts fitted to the box's width (never blown up, never unreadably small)
    state.scale = Math.min(1, Math.max(0.6, (diagramBox.clientWidth - 4) / (diagram.width + 80)));
    state.fitted = state.name;
  }
  const byId = Object.fromEntries(diagram.nodes.map((n) => [n.id, n]));
  const bad = state.problem && state.problem.node;
  const drawing = svg("svg", {
    xmlns: SVG, id: "flow-svg", viewBox: `0 0 ${diagram.width + 80} ${diagram.height}`,
    width: Math.round((diagram.width + 80) * state.scale), height: Math.round(diagram.height * state.scale),
    role: "img", "aria-label": t("admin.flows.diagram"),
  });
  drawing.append(svg("defs", {},
    svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "flow-arrow" })),
    // one clip for every box's text (each box is a translated group, so its own coordinates apply)
    svg("clipPath", { id: "node-clip" }, svg("rect", { x: 4, y: 0, width: w - 12, height: h }))));
  const edges = svg("g", { class: "flow-edges" });
  const labels = svg("g", { class: "flow-labels" });
  const outgoing = {};
  for (const edge of diagram.edges) (outgoing[edge.source] ||= []).push(edge);
  for (const [source, list] of Object.entries(outgoing)) {
    const forward = list.filter((e) => !e.back);
    forward.forEach((edge, index) => {
      const a = byId[source], b = byId[edge.target];
      const sx = a.x + (w * (index + 1)) / (forward.length + 1), sy = a.y + h;
      const tx = b.x + w / 2, ty = b.y;
      // a long edge runs straight down through its waypoints (between the boxes of the rows it crosses)
      const stops = [[sx, sy]];
      for (const [px, py] of edge.points) stops.push([px, py - h / 2], [px, py + h / 2]);
      stops.push([tx, ty]);
      let d = `M${sx},${sy}`;
      for (let i = 1; i < stops.length; i += 1) {
        const [x0, y0] = stops[i - 1], [x1, y1] = stops[i];
        if (i % 2 === 0) { d += ` L${x1},${y1}`; continue; } // inside a crossed row
        const bend = Math.max(16, (y1 - y0) / 2);
        d += ` C${x0},${y0 + bend} ${x1},${y1 - bend} ${x1},${y1}`;
      }
      edges.append(svg("path", { d, class: "flow-edge", "marker-end": "url(#arrow)" }));
      const label = edgeLabel(edge);
      if (label) {
        // at t = 0.3 of the first curve: branches from one node have spread apart there
        const [nx, ny] = stops[1];
        const bend = Math.max(16, (ny - sy) / 2);
        const lx = 0.784 * sx + 0.216 * nx;
        const ly = 0.343 * sy + 0.441 * (sy + bend) + 0.189 * (ny - bend) + 0.027 * ny;
        labels.append(svg("text", { x: lx, y: ly + 4, class: "flow-edge-label", "text-anchor": "middle" }, label));
      }
    });
    list.filter((e) => e.back).forEach((edge, index) => {
      const a = byId[source], b = byId[edge.target];
      const sx = a.x + w, sy = a.y + h / 2 + 6 * index, tx = b.x + w, ty = b.y + h / 2;
      const out = 40 + 12 * index;
      edges.append(svg("path", { d: `M${sx},${sy} C${sx + out},${sy} ${tx + out},${ty} ${tx},${ty}`, class: "flow-edge back", "marker-end": "url(#arrow)" }));
      const label = edgeLabel(edge);
      if (label) labels.append(svg("text", { x: sx + 6, y: sy - 4, class: "flow-edge-label" }, label));
    });
  }
  const boxes = svg("g", { class: "flow-nodes" });
  for (const node of diagram.nodes) {
    const classes = ["flow-node", KIND_CLASS[node.kind] || "", node.start ? "start" : "", node.reachable ? "" : "unreachable", node.id === bad ? "bad" : ""];
    const group = svg("g", { class: classes.join(" ").replace(/\s+/g, " ").trim(), transform: `translate(${node.x},${node.y})`, "data-node": node.id, tabindex: 0 });
    group.append(
      svg("title", {}, `${node.id} (${node.kind})${node.summary ? `: ${node.summary}` : ""}`),
      svg("rect", { width: w, height: h, rx: 8, ry: 8 }),
      svg("g", { "clip-path": "url(#node-clip)" },
        svg("text", { x: 10, y: 20, class: "flow-node-id" }, node.id),
        svg("text", { x: 10, y: 40, class: "flow-node-summary" }, node.summary)),
      // drawn last: over the id's end when the id is long
      svg("text", { x: w - 8, y: 20, class: "flow-node-kind", "text-anchor": "end" }, t(`admin.flows.kind.${node.kind}`)));
    group.addEventListener("click", () => {
      const line = nodeLine(node.id);
      if (line) goToLine(line);
    });
    boxes.append(group);
  }
  drawing.append(edges, boxes, labels);
  fill(diagramBox, drawing);
}

// ---------------------------------------------------------------- start
renderGutter();
loadFlows().catch(showError);
