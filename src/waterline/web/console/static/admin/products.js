// Products and prices (商品与价格): catalogue, price changes (orders keep their unit price), retire.
import { api, el, fill, money, showError, t, toast } from "../console.js";
import { button, card, form, may, root, table, yesNo } from "./common.js";

const canEdit = may("products.write");
const KINDS = ["barrel", "bottled", "dispenser", "accessory"];
const listBox = el("div", { id: "product-list" });
const formBox = el("div", { id: "product-form-box" });
fill(root, card(t("admin.products.list"), [button(t("admin.products.new"), () => openForm(null), "primary", { id: "product-new", hidden: !canEdit })], listBox), formBox);

const yuan = (fen) => (fen / 100).toFixed(2);
const fen = (text) => Math.round(Number(text) * 100);

async function load() {
  const products = await api("/api/products");
  fill(listBox, table([
    { label: t("admin.products.sku"), value: (p) => el("span", { class: "wl-mono" }, p.sku) },
    { label: t("admin.products.name"), value: (p) => el("strong", {}, p.name) },
    { label: t("admin.products.brand"), value: (p) => p.brand || "—" },
    { label: t("admin.products.kind"), value: (p) => t(`admin.products.kind.${p.kind}`) },
    { label: t("admin.products.volume"), num: true, value: (p) => p.volume_ml ? `${(p.volume_ml / 1000).toFixed(1)} L` : "—" },
    { label: t("admin.products.price"), num: true, value: (p) => money(p.price_fen) },
    { label: t("admin.products.active"), value: (p) => yesNo(p.active, t("admin.products.on_sale"), t("admin.products.retired")) },
    { label: "", value: (p) => canEdit ? button(t("admin.edit"), () => openForm(p), "ghost") : "" },
  ], products, { id: "product-table", rowId: (p) => p.id }));
}

function openForm(product) {
  const fields = product ? [
    { name: "name", label: t("admin.products.name"), required: true, value: product.name },
    { name: "brand", label: t("admin.products.brand"), value: product.brand },
    { name: "price", label: t("admin.products.price_yuan"), type: "number", step: "0.01", min: 0, required: true, value: yuan(product.price_fen) },
    { name: "active", label: t("admin.products.on_sale"), type: "checkbox", value: product.active },
  ] : [
    { name: "sku", label: t("admin.products.sku"), required: true, placeholder: "BARREL-18L" },
    { name: "name", label: t("admin.products.name"), required: true },
    { name: "brand", label: t("admin.products.brand") },
    { name: "kind", label: t("admin.products.kind"), type: "select", options: KINDS.map((k) => [k, t(`admin.products.kind.${k}`)]), value: "barrel" },
    { name: "volume_l", label: t("admin.products.volume_l"), type: "number", step: "0.1", min: 0, value: "18.9" },
    { name: "price", label: t("admin.products.price_yuan"), type: "number", step: "0.01", min: 0, required: true },
    { name: "active", label: t("admin.products.on_sale"), type: "checkbox", value: true },
  ];
  const node = form(fields, {
    id: "product-form",
    submitLabel: product ? t("shell.save") : t("admin.products.create"),
    extraButtons: [button(t("shell.cancel"), () => fill(formBox), "ghost")],
    onSubmit: async (v) => {
      try {
        if (product) {
          await api(`/api/products/${product.id}`, { method: "PATCH", body: { name: v.name, brand: v.brand, price_fen: fen(v.price), active: v.active } });
        } else {
          await api("/api/products", { method: "POST", body: {
            sku: v.sku, name: v.name, brand: v.brand, kind: v.kind, volume_ml: Math.round((v.volume_l || 0) * 1000),
            price_fen: fen(v.price), active: v.active,
          } });
        }
        toast(t("admin.saved"), "ok");
        fill(formBox);
        await load();
      } catch (error) {
        showError(error);
      }
    },
  });
  fill(formBox, card(product ? t("admin.products.edit", { name: product.name }) : t("admin.products.new"), [], node));
  node.elements.namedItem(product ? "name" : "sku").focus();
}

load().catch(showError);
