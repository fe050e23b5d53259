// One influencer's page: figures, the daily chart, links (copy, change destination,
// disable), coupons (add, remove), costs (add, delete) and orders with their attribution.
"use strict";

import { $, all, api, attempt, chosenRange, copy, del, el, header, patch, post, rangeQuery, td } from "./core.js";
import { drawDaily } from "./charts.js";
import { ORDER_COLUMNS, ORDER_FIGURES, handles, orderRow } from "./orders.js";
import { renderCards } from "./overview.js";

const state = { id: null, influencer: null, campaigns: [] };

const path = (rest = "") => "/api/v1/influencers/" + encodeURIComponent(state.id) + rest;
const failed = () => $("detail-error");

function campaignName(id) {
  const campaign = state.campaigns.find((c) => c.id === id);
  return campaign ? campaign.name : id || "–";
}

function destinationEditor(link) {
  const input = el("input", { type: "url", value: link.destination, "aria-label": "New destination of /" + link.code, required: true });
  const form = el("form", { class: "row inline-edit" }, input,
    el("button", { type: "submit", text: "Save" }),
    el("button", { type: "button", class: "quiet", text: "Cancel", onclick: () => loadLinks() }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await attempt(failed(), async () => {
      await patch("/api/v1/links/" + encodeURIComponent(link.code), { destination: input.value });
      await loadLinks();
    });
  });
  return form;
}

function linkRow(link) {
  const destination = td("Destination", link.destination);
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", class: "quiet", text: "Copy", "aria-label": "Copy " + link.short_url,
      onclick: (event) => copy(link.short_url, event.target) }),
    el("button", { type: "button", class: "quiet", text: "Change destination", "aria-label": "Change destination of /" + link.code,
      onclick: () => { destination.replaceChildren(destinationEditor(link)); destination.querySelector("input").focus(); } }),
    link.disabled ? null : el("button", { type: "button", class: "danger", text: "Disable", "aria-label": "Disable /" + link.code,
      onclick: () => attempt(failed(), async () => { await del("/api/v1/links/" + encodeURIComponent(link.code)); await loadLinks(); }) }));
  return el("tr", { dataset: { code: link.code } },
    td("Code", el("a", { href: link.short_url, text: "/" + link.code, rel: "noreferrer" })),
    destination,
    td("Campaign", campaignName(link.campaign_id)),
    td("Status", link.disabled ? "disabled" : "live"),
    td("Actions", actions));
}

async function loadLinks() {
  const links = await all("/api/v1/links?influencer_id=" + encodeURIComponent(state.id), "links");
  const body = $("detail-links").querySelector("tbody");
  body.replaceChildren(...links.map(linkRow));
  if (!links.length) body.append(el("tr", {}, el("td", { colspan: 5, text: "No links yet." })));
}

async function loadCoupons() {
  const codes = await all(path("/coupons"), "coupons");
  $("detail-coupons").replaceChildren(...codes.map((code) => el("li", { dataset: { coupon: code } },
    el("span", { text: code }),
    el("button", { type: "button", class: "quiet", text: "Remove", "aria-label": "Remove coupon " + code,
      onclick: () => attempt(failed(), async () => { await del(path("/coupons/" + encodeURIComponent(code))); await loadCoupons(); }) }))));
  if (!codes.length) $("detail-coupons").append(el("li", { class: "empty", text: "No coupons." }));
}

async function loadCosts() {
  const costs = await all(path("/costs"), "costs");
  const body = $("detail-costs").querySelector("tbody");
  body.replaceChildren(...costs.map((c) => el("tr", { dataset: { cost: c.id } },
    td("Date", c.date),
    td("Kind", c.kind.replace("_", " ")),
    td("Note", c.note || "–"),
    td("Amount", c.amount + " " + c.currency, "num"),
    td("Actions", el("button", { type: "button", class: "danger", text: "Delete", "aria-label": "Delete cost of " + c.amount + " " + c.currency + " on " + c.date,
      onclick: () => attempt(failed(), async () => { await del(path("/costs/" + encodeURIComponent(c.id))); await Promise.all([loadCosts(), loadFigures()]); }) })))));
  if (!costs.length) body.append(el("tr", {}, el("td", { colspan: 5, text: "No costs recorded." })));
}

async function loadOrders() {
  header($("detail-orders"), ORDER_COLUMNS, ORDER_FIGURES);
  const params = new URLSearchParams(chosenRange());
  params.set("influencer_id", state.id);
  const orders = await all("/api/v1/orders?" + params, "orders");
  const body = $("detail-orders").querySelector("tbody");
  body.replaceChildren(...orders.map((o) => orderRow(o, handles)));
  if (!orders.length) body.append(el("tr", {}, el("td", { colspan: ORDER_COLUMNS.length, text: "No orders in this period." })));
}

async function loadFigures() {
  const daily = await api(path("").replace("/influencers/", "/reports/influencers/") + "/daily?" + rangeQuery());
  renderCards($("detail-cards"), daily.totals, null, daily.currency);
  drawDaily($("chart"), daily);
}

function describe(i) {
  const commission = i.commission ? (i.commission.percent !== undefined ? i.commission.percent + " % commission" : i.commission.flat + " per order") : "no commission";
  return [i.name, i.platform, commission, i.disabled ? "disabled" : "active"].filter(Boolean).join(" · ");
}

/// Shows the influencer `id`, reading everything on their page.
export async function show(id, campaigns) {
  state.id = id;
  state.campaigns = campaigns;
  const select = $("detail-campaign");
  select.replaceChildren(el("option", { value: "", text: "None" }),
    ...campaigns.map((c) => el("option", { value: c.id, text: c.name })));
  $("cost-date").value = chosenRange().to;
  await attempt(failed(), async () => {
    state.influencer = await api(path());
    $("detail-title").textContent = "@" + state.influencer.handle;
    $("detail-summary").textContent = describe(state.influencer);
    $("detail-disable").hidden = state.influencer.disabled;
    await Promise.all([loadFigures(), loadLinks(), loadCoupons(), loadCosts(), loadOrders()]);
  });
}

export function wire(onChanged) {
  $("detail-new-link").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(failed(), async () => {
      const body = { influencer_id: state.id, destination: $("detail-destination").value };
      if ($("detail-code").value.trim()) body.code = $("detail-code").value.trim();
      if ($("detail-campaign").value) body.campaign_id = $("detail-campaign").value;
      await post("/api/v1/links", body);
      $("detail-new-link").reset();
      await loadLinks();
    });
  });
  $("detail-new-coupon").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(failed(), async () => {
      await post(path("/coupons"), { code: $("coupon-code").value.trim() });
      $("coupon-code").value = "";
      await loadCoupons();
    });
  });
  $("detail-new-cost").addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(failed(), async () => {
      const body = { kind: $("cost-kind").value, amount: $("cost-amount").value.trim(),
        currency: $("cost-currency").value.trim().toUpperCase(), date: $("cost-date").value };
      if ($("cost-note").value.trim()) body.note = $("cost-note").value.trim();
      await post(path("/costs"), body);
      $("cost-amount").value = "";
      $("cost-note").value = "";
      await Promise.all([loadCosts(), loadFigures()]);
    });
  });
  $("detail-disable").addEventListener("click", () => attempt(failed(), async () => {
    const button = $("detail-disable");
    if (button.dataset.armed !== "yes") {
      button.dataset.armed = "yes";
      button.textContent = "Confirm: disable @" + state.influencer.handle + " (their links stop redirecting)";
      return;
    }
    delete button.dataset.armed;
    button.textContent = "Disable influencer";
    await del(path());
    await show(state.id, state.campaigns);
    onChanged();
  }));
}
