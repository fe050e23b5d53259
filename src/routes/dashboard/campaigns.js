// Campaigns: create, list, view one (its figures and links), compare several side by side.
"use strict";

import { $, all, api, attempt, chosenRange, el, figure, header, post, rangeQuery, td } from "./core.js";
import { renderCards } from "./overview.js";

/// The campaigns, as last read.
export const known = { campaigns: [] };

const FIGURES = [
  ["clicks", "Clicks"], ["bot_clicks", "Bots"], ["suspicious_clicks", "Suspicious"], ["orders", "Orders"],
  ["net_revenue", "Net revenue"], ["commission", "Commission"], ["costs", "Costs"], ["profit", "Profit"],
  ["roi", "ROI %"], ["epc", "EPC"],
];

async function figures(id) {
  const params = rangeQuery(chosenRange());
  params.delete("currency");
  params.set("campaign_id", id);
  return api("/api/v1/reports/influencers?" + params);
}

function renderList() {
  const body = $("campaign-list").querySelector("tbody");
  body.replaceChildren(...known.campaigns.map((c) => el("tr", { dataset: { campaign: c.id } },
    td("Compare", el("input", { type: "checkbox", class: "compare", value: c.id, "aria-label": "Compare " + c.name })),
    td("Campaign", c.name),
    td("Currency", c.currency),
    td("Attribution days", c.attribution_window_days === null ? "default" : String(c.attribution_window_days)),
    td("Allowed domains", c.allowed_domains.length ? c.allowed_domains.join(", ") : "any"),
    td("Actions", el("button", { type: "button", class: "quiet", text: "View", "aria-label": "View " + c.name,
      onclick: () => view(c) })))));
  if (!known.campaigns.length) body.append(el("tr", {}, el("td", { colspan: 6, text: "No campaigns yet: create one above." })));
}

/// Reads the campaigns and fills the campaign filter.
export async function load() {
  known.campaigns = await all("/api/v1/campaigns", "campaigns");
  const select = $("campaign");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "All campaigns" }),
    ...known.campaigns.map((c) => el("option", { value: c.id, text: c.name + " (" + c.currency + ")" })));
  select.value = chosen;
  renderList();
  return known.campaigns;
}

async function view(campaign) {
  await attempt($("campaign-error"), async () => {
    const [report, links] = await Promise.all([
      figures(campaign.id),
      all("/api/v1/links?campaign_id=" + encodeURIComponent(campaign.id), "links"),
    ]);
    const cards = el("div", { class: "cards" });
    renderCards(cards, report.totals, null, report.currency);
    const rows = report.rows.filter((r) => r.influencer_id).map((r) => el("li", {},
      el("a", { href: "#influencer/" + encodeURIComponent(r.influencer_id), text: "@" + r.handle }),
      " profit " + r.profit + " " + report.currency + ", ROI " + figure("roi", r.roi)));
    $("campaign-detail").replaceChildren(
      el("h3", { text: campaign.name + ", " + report.from + " to " + report.to }),
      cards,
      el("h4", { text: "Influencers" }),
      rows.length ? el("ul", {}, ...rows) : el("p", { class: "hint", text: "No influencer has figures in this campaign yet." }),
      el("h4", { text: "Links" }),
      links.length ? el("ul", {}, ...links.map((l) => el("li", { text: l.short_url + " → " + l.destination + (l.disabled ? " (disabled)" : "") })))
        : el("p", { class: "hint", text: "No links in this campaign yet." }));
  });
}

async function compare() {
  const chosen = [...document.querySelectorAll("#campaign-list input.compare:checked")].map((box) => box.value);
  await attempt($("campaign-error"), async () => {
    if (chosen.length < 2) throw new Error("Select two or more campaigns to compare.");
    const reports = await Promise.all(chosen.map(figures));
    const table = $("campaign-compare");
    const titles = FIGURES.map(([, title]) => title);
    header(table, ["Campaign", ...titles, "Currency"], titles);
    table.querySelector("tbody").replaceChildren(...reports.map((report, i) => {
      const campaign = known.campaigns.find((c) => c.id === chosen[i]);
      return el("tr", { dataset: { campaign: chosen[i] } },
        td("Campaign", campaign ? campaign.name : chosen[i]),
        ...FIGURES.map(([key, title]) => td(title, figure(key, report.totals[key]).replace(/ %$/, ""), "num")),
        td("Currency", report.currency));
    }));
    table.hidden = false;
  });
}

async function create(event) {
  event.preventDefault();
  await attempt($("campaign-error"), async () => {
    const body = { name: $("campaign-name").value.trim(), currency: $("campaign-currency").value.trim().toUpperCase() };
    const days = $("campaign-window").value.trim();
    if (days) body.attribution_window_days = /^\d+$/.test(days) ? Number(days) : days;
    const domains = $("campaign-domains").value.split(",").map((d) => d.trim()).filter(Boolean);
    if (domains.length) body.allowed_domains = domains;
    await post("/api/v1/campaigns", body);
    $("new-campaign").reset();
    await load();
  });
}

export function wire() {
  $("new-campaign").addEventListener("submit", create);
  $("compare-campaigns").addEventListener("click", compare);
}
