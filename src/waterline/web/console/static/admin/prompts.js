// Prompts (语音提示): listen, upload a recording (WAV/MP3 → 8 kHz mono), synthesise Chinese text
// with the offline TTS, revert an uploaded prompt to the shipped one.
import { api, duration, el, fill, showError, t, toast } from "../console.js";
import { button, card, form, root, table } from "./common.js";

const listBox = el("div", { id: "prompt-list" });
const player = { name: null, node: null };
const NAME_HELP = t("admin.prompts.name_help");

const ttsForm = form([
  { name: "name", label: t("admin.prompts.name"), required: true, placeholder: "holiday_notice" },
  { name: "text", label: t("admin.prompts.text"), type: "textarea", required: true, wide: true, rows: 3, placeholder: t("admin.prompts.text_example") },
], { id: "tts-form", submitLabel: t("admin.prompts.synthesise"), onSubmit: synthesise });

const uploadForm = form([
  { name: "name", label: t("admin.prompts.name"), required: true, placeholder: "greeting" },
  { name: "file", label: t("admin.prompts.file"), type: "file", required: true, accept: ".wav,.mp3,audio/*" },
  { name: "text", label: t("admin.prompts.what_it_says"), wide: true },
], { id: "upload-form", submitLabel: t("admin.prompts.upload"), onSubmit: upload });

fill(root,
  card(t("admin.prompts.list"), [], listBox),
  el("div", { class: "wl-grid two" },
    card(t("admin.prompts.tts"), [], el("p", { class: "wl-muted admin-note" }, t("admin.prompts.tts_help"), " ", NAME_HELP), ttsForm),
    card(t("admin.prompts.upload_title"), [], el("p", { class: "wl-muted admin-note" }, t("admin.prompts.upload_help"), " ", NAME_HELP), uploadForm)));

async function load() {
  const prompts = await api("/api/prompts");
  fill(listBox, table([
    { label: t("admin.prompts.name"), value: (p) => el("strong", { class: "wl-mono" }, p.name) },
    { label: t("admin.prompts.text"), value: (p) => p.text || el("span", { class: "wl-muted" }, "—") },
    { label: t("admin.prompts.duration"), num: true, value: (p) => duration(p.duration) },
    { label: t("admin.prompts.source"), value: (p) => el("span", { class: `wl-tag ${p.source === "uploaded" ? "info" : ""}` },
      t(p.source === "uploaded" ? "admin.prompts.uploaded" : "admin.prompts.shipped")) },
    { label: t("admin.prompts.listen"), value: (p) => el("div", { class: "admin-row-actions", id: `play-${p.name}` },
      button(t("admin.prompts.play"), () => play(p.name), "", { dataset: { play: p.name } })) },
    { label: "", value: (p) => p.source === "uploaded"
      ? button(p.shipped ? t("admin.prompts.revert") : t("admin.prompts.delete"), () => revert(p.name), "danger") : "" },
  ], prompts, { id: "prompt-table", rowId: (p) => p.name }));
}

function play(name) {
  if (player.node) player.node.pause();
  const box = document.getElementById(`play-${name}`);
  // a fresh URL each time: the prompt may just have been replaced under the same name
  const audio = el("audio", { controls: true, class: "admin-audio", id: `audio-${name}`, preload: "auto",
    src: `/api/prompts/${encodeURIComponent(name)}/audio?at=${Date.now()}` });
  fill(box, audio);
  player.name = name;
  player.node = audio;
  audio.play().catch(() => { /* the controls stay for a manual start */ });
}

async function synthesise(values, node) {
  try {
    const made = await api(`/api/prompts/${encodeURIComponent(values.name.trim())}/tts`, { method: "POST", body: { text: values.text } });
    toast(t("admin.prompts.made", { name: made.name, seconds: made.duration.toFixed(1) }), "ok");
    node.reset();
    await load();
    play(made.name);
  } catch (error) {
    showError(error);
  }
}

async function upload(values, node) {
  const data = new FormData();
  data.append("file", values.file);
  if (values.text) data.append("text", values.text);
  try {
    const made = await api(`/api/prompts/${encodeURIComponent(values.name.trim())}`, { method: "POST", body: data });
    toast(t("admin.prompts.made", { name: made.name, seconds: made.duration.toFixed(1) }), "ok");
    node.reset();
    await load();
  } catch (error) {
    showError(error);
  }
}

async function revert(name) {
  try {
    await api(`/api/prompts/${encodeURIComponent(name)}`, { method: "DELETE" });
    toast(t("admin.saved"), "ok");
    await load();
  } catch (error) {
    showError(error);
  }
}

load().catch(showError);
