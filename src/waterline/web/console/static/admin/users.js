// Users and roles (用户与角色): who logs in, with which role; enable/disable, new password.
import { api, el, fill, client, showError, t, toast } from "../console.js";
import { button, card, form, may, root, table, yesNo } from "./common.js";

const canEdit = may("users.manage");
const ROLES = ["owner", "manager", "dispatcher", "agent", "courier"];
const listBox = el("div", { id: "user-list" });
const formBox = el("div", { id: "user-form-box" });
fill(root,
  card(t("admin.users.list"), [button(t("admin.users.new"), () => openCreate(), "primary", { id: "user-new", hidden: !canEdit })], listBox),
  card(t("admin.users.roles"), [], el("dl", { class: "wl-kv", id: "role-help" },
    ROLES.flatMap((r) => [el("dt", {}, t(`role.${r}`)), el("dd", {}, t(`admin.users.role_help.${r}`))]))),
  formBox);
let couriers = [];

async function load() {
  const users = await api("/api/users");
  fill(listBox, table([
    { label: t("admin.users.username"), value: (u) => el("span", { class: "wl-mono" }, u.username) },
    { label: t("admin.users.display_name"), value: (u) => u.display_name || "—" },
    { label: t("admin.users.role"), value: (u) => el("span", { class: "wl-tag info" }, t(`role.${u.role}`)) },
    { label: t("admin.users.courier"), value: (u) => u.courier_id ? (couriers.find((c) => c.id === u.courier_id) || {}).name || `#${u.courier_id}` : "—" },
    { label: t("admin.users.status"), value: (u) => yesNo(u.active, t("admin.active"), t("admin.inactive")) },
    { label: "", value: (u) => canEdit && u.id !== client.user.id ? el("div", { class: "admin-row-actions" },
      button(u.active ? t("admin.users.disable") : t("admin.users.enable"), () => setActive(u, !u.active), u.active ? "danger" : ""),
      button(t("admin.edit"), () => openEdit(u), "ghost"),
      button(t("admin.users.reset_password"), () => openPassword(u), "ghost")) : "" },
  ], users, { id: "user-table", rowId: (u) => u.id }));
}

async function setActive(user, active) {
  try {
    await api(`/api/users/${user.id}`, { method: "PATCH", body: { active } });
    toast(t("admin.saved"), "ok");
    await load();
  } catch (error) {
    showError(error);
  }
}

function openEdit(user) {
  const node = form([
    { name: "display_name", label: t("admin.users.display_name"), value: user.display_name },
    { name: "role", label: t("admin.users.role"), type: "select", options: ROLES.map((r) => [r, t(`role.${r}`)]), value: user.role },
  ], {
    id: "user-edit-form",
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (v) => {
      try {
        await api(`/api/users/${user.id}`, { method: "PATCH", body: { display_name: v.display_name, role: v.role } });
        toast(t("admin.saved"), "ok");
        fill(formBox);
        await load();
      } catch (error) {
        showError(error);
      }
    },
  });
  fill(formBox, card(t("admin.users.edit", { username: user.username }), [], node));
  node.elements.namedItem("display_name").focus();
}

function openPassword(user) {
  const node = form([{ name: "password", label: t("admin.users.new_password"), type: "password", required: true }], {
    id: "password-form",
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (v) => {
      try {
        await api(`/api/users/${user.id}`, { method: "PATCH", body: { password: v.password } });
        toast(t("admin.users.password_set", { username: user.username }), "ok");
        fill(formBox);
      } catch (error) {
        showError(error);
      }
    },
  });
  fill(formBox, card(t("admin.users.reset_for", { username: user.username }), [], node));
  node.elements.namedItem("password").focus();
}

function openCreate() {
  const node = form([
    { name: "username", label: t("admin.users.username"), required: true, placeholder: "kefu02" },
    { name: "display_name", label: t("admin.users.display_name") },
    { name: "role", label: t("admin.users.role"), type: "select", options: ROLES.map((r) => [r, t(`role.${r}`)]), value: "agent" },
    { name: "password", label: t("admin.users.password"), type: "password", required: true },
    { name: "sip_password", label: t("admin.users.sip_password"), type: "password" },
    { name: "courier_id", label: t("admin.users.courier"), type: "select", options: [["", "—"], ...couriers.map((c) => [c.id, c.name])] },
  ], {
    id: "user-form",
    submitLabel: t("admin.users.create"),
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (v) => {
      const body = { username: v.username.trim(), display_name: v.display_name, role: v.role, password: v.password,
        sip_password: v.sip_password || null, courier_id: v.courier_id ? Number(v.courier_id) : null };
      try {
        await api("/api/users", { method: "POST", body });
        toast(t("admin.saved"), "ok");
        fill(formBox);
        await load();
      } catch (error) {
        showError(error);
      }
    },
  });
  fill(formBox, card(t("admin.users.new"), [], el("p", { class: "wl-muted admin-note" }, t("admin.users.create_help")), node));
  node.elements.namedItem("username").focus();
}

try {
  if (may("users.manage")) couriers = await api("/api/couriers").catch(() => []);
  await load();
} catch (error) {
  showError(error);
}
