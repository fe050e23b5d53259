// Orders: every order or one influencer's, with its currency and how it was attributed, a
// page at a time.
"use strict";

import { $, api, attempt, chosenRange, el, header, td } from "./core.js";

export const ORDER_COLUMNS = ["Time", "Order", "Status", "Influencer", "Attributed", "Net revenue", "Commission", "Currency"];

/// How an order was attributed, in a few words: "click on /alice", "coupon alice10", or why
/// nobody earned it.
export function attribution(order) {
  const a = order.attribution;
  if (!a) return "not attributed";
  const reason = a.reason.replaceAll("_", " ");
  let text;
  if (a.by === "click") text = "click on /" + a.link_code;
  else if (a.by === "coupon") text = "coupon " + a.coupon;
  else if (a.by === "manual") text = "corrected by a marketer";
  else if (a.by === "pending") text = "waiting for its click";
  else text = "not attributed (" + reason + ")";
  if (!a.qualified && a.by !== "none") text += " (" + reason + ", not counted)";
  if (a.review === "held") text += " (held for review: " + a.flags.join(", ").replaceAll("_", " ") + ")";
  if (a.overruled) text += ", overruling " + (handles.get(a.overruled) || a.overruled);
  return text;
}

export function orderRow(order, handles) {
  const a = order.attribution;
  const who = a && a.influencer_id ? (handles.get(a.influencer_id) || a.influencer_id) : "–";
  const tr = el("tr", { dataset: { order: order.order_key } },
    td("Time", order.occurred_at.replace("T", " ").slice(0, 16)),
    td("Order", order.platform + " " + order.order_id),
    td("Status", order.status + (order.test ? " (test)" : "") + (order.counted ? "" : ", not counted")),
    td("Influencer", who),
    td("Attributed", attribution(order)),
    td("Net revenue", order.net_revenue, "num"),
    td("Commission", order.commission, "num"),
    td("Currency", order.currency));
  return tr;
}

/// Known influencers' handles by id, for the orders' influencer column.
export const handles = new Map();

const state = { cursor: null, query: "" };

async function page(append) {
  await attempt($("orders-error"), async () => {
    const params = new URLSearchParams(chosenRange());
    const who = $("orders-influencer").value;
    if (who === "held") params.set("review", "held");
    else if (who) params.set("influencer_id", who);
    if ($("campaign").value) params.set("campaign_id", $("campaign").value);
    params.set("limit", "100");
    if (append && state.cursor) params.set("cursor", state.cursor);
    const answer = await api("/api/v1/orders?" + params);
    const body = $("orders").querySelector("tbody");
    if (!append) body.replaceChildren();
    for (const order of answer.orders) body.append(orderRow(order, handles));
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: ORDER_COLUMNS.length, text: "No orders in this period." })));
    state.cursor = answer.next_cursor;
    $("orders-more").hidden = !state.cursor;
  });
}

export function fillInfluencers(influencers) {
  const select = $("orders-influencer");
  const chosen = select.value;
  for (const option of [...select.options].slice(3)) option.remove();
  for (const i of influencers) select.append(el("option", { value: i.id, text: "@" + i.handle }));
  select.value = chosen;
}

export const ORDER_FIGURES = ["Net revenue", "Commission"];

export function load() {
  header($("orders"), ORDER_COLUMNS, ORDER_FIGURES);
  return page(false);
}

export function wire() {
  $("orders-filter").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("orders-more").addEventListener("click", () => page(true));
  // The overview's count of held orders opens this list on the review queue.
  $("held-link").addEventListener("click", () => { $("orders-influencer").value = "held"; });
}
