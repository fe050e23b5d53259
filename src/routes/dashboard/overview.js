// The overview: the period's cards against the previous period, influencers ranked, and the
// ROI report (sortable from the keyboard; rows open the influencer).
"use strict";

import { $, api, attempt, chosenRange, el, figure, previousRange, rangeQuery, sign, td } from "./core.js";
import { drawRanking } from "./charts.js";

const COLUMNS = [
  ["handle", "Influencer"], ["clicks", "Clicks"], ["unique_clicks", "Unique"],
  ["bot_clicks", "Bots"], ["suspicious_clicks", "Suspicious"], ["suspicious_share", "Suspicious %"],
  ["orders", "Orders"], ["conversion_rate", "Conv. %"], ["revenue", "Revenue"],
  ["refunds", "Refunds"], ["net_revenue", "Net revenue"], ["commission", "Commission"],
  ["costs", "Costs"], ["profit", "Profit"], ["roi", "ROI %"], ["epc", "EPC"],
];

/// The cards: title, field of the totals, and whether a rise is good news.
const CARDS = [
  ["Spend", "total_cost", false], ["Revenue", "net_revenue", true], ["Profit", "profit", true],
  ["ROI", "roi", true], ["Orders", "orders", true], ["Clicks", "clicks", true],
  ["Bot clicks", "bot_clicks", null], ["Suspicious clicks", "suspicious_clicks", false],
];

const state = { sort: "roi", order: "desc", report: null };

export function reportQuery(range) {
  const params = rangeQuery(range);
  if ($("campaign").value) params.set("campaign_id", $("campaign").value);
  params.set("sort", state.sort);
  params.set("order", state.order);
  return params;
}

/// How a figure moved since the previous period: percent change, or points for ROI.
function change(key, now, before) {
  if (now === null || before === null || now === undefined || before === undefined) return null;
  const [a, b] = [Number(now), Number(before)];
  if (key === "roi") return { value: (a - b) * 100, text: ((a - b) * 100).toFixed(1) + " pts" };
  if (b === 0) return a === 0 ? { value: 0, text: "no change" } : null;
  const percent = ((a - b) / Math.abs(b)) * 100;
  return { value: percent, text: (percent > 0 ? "+" : "") + percent.toFixed(1) + " %" };
}

/// Cards of `totals` against `previous` (either may be null).
export function renderCards(container, totals, previous, currency) {
  container.replaceChildren();
  for (const [title, key, risingIsGood] of CARDS) {
    const value = totals[key];
    const moved = previous ? change(key, value, previous[key]) : null;
    let tone = "";
    if (moved && moved.value !== 0 && risingIsGood !== null) {
      tone = (moved.value > 0) === risingIsGood ? "good" : "bad";
    }
    const shown = key === "roi" ? figure(key, value)
      : (typeof value === "string" ? value + " " + currency : figure(key, value));
    container.append(el("div", { class: "card", dataset: { figure: key } },
      el("span", { class: "card-title", text: title }),
      el("strong", { class: "card-value", text: shown }),
      previous ? el("span", { class: "card-change " + tone, text: moved ? moved.text : "– (none before)" }) : null));
  }
}

function cell(row, key, title) {
  const value = row[key];
  let text;
  if (key === "handle") text = value === null ? "(unattributed)" : "@" + value;
  else text = figure(key, value);
  if (PERCENT_SUFFIX.test(text)) text = text.replace(PERCENT_SUFFIX, "");
  const className = (key === "profit" || key === "roi") && value !== null ? sign(value) : undefined;
  return td(title, text, className);
}
const PERCENT_SUFFIX = / %$/;

function renderHeader() {
  const tr = $("report").querySelector("thead tr");
  tr.replaceChildren();
  for (const [key, title] of COLUMNS) {
    const th = el("th", { scope: "col" });
    if (key === state.sort) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    th.append(el("button", {
      type: "button", class: "sort", text: title, dataset: { key },
      onclick: () => {
        state.order = state.sort === key && state.order === "desc" ? "asc" : "desc";
        state.sort = key;
        // load() redraws the header before it waits for the report, so focus moves to the
        // new button at once and stays there while the rows arrive.
        load();
        const again = $("report").querySelector("button.sort[data-key='" + key + "']");
        if (again) again.focus();
      },
    }));
    tr.appendChild(th);
  }
}

function renderTable(report) {
  const body = $("report").querySelector("tbody");
  body.replaceChildren();
  for (const row of report.rows) {
    const tr = el("tr");
    for (const [key, title] of COLUMNS) tr.appendChild(cell(row, key, title));
    if (row.influencer_id) {
      tr.dataset.influencer = row.influencer_id;
      tr.classList.add("link");
      const open = el("a", { href: "#influencer/" + encodeURIComponent(row.influencer_id), text: tr.firstChild.textContent });
      tr.firstChild.replaceChildren(open);
      tr.addEventListener("click", (event) => {
        if (event.target.tagName !== "A") location.hash = "#influencer/" + encodeURIComponent(row.influencer_id);
      });
    }
    body.appendChild(tr);
  }
  const totals = Object.assign({}, report.totals, { handle: null });
  const tr = el("tr");
  for (const [key, title] of COLUMNS) tr.appendChild(cell(totals, key, title));
  tr.firstChild.textContent = "Total (" + report.currency + ")";
  $("report").querySelector("tfoot").replaceChildren(tr);
}

/// Orders in currencies other than the report's: shown apart, never converted.
export function renderOtherCurrencies(container, others) {
  container.replaceChildren();
  if (!others || !others.length) return;
  const table = el("table", { class: "cards-on-phone other-currencies" },
    el("caption", { text: "Orders in other currencies (not converted)" }),
    el("thead", {}, el("tr", {}, ...["Currency", "Orders", "Revenue", "Refunds", "Net revenue", "Commission", "Costs"]
      .map((t) => el("th", { scope: "col", text: t })))),
    el("tbody", {}, ...others.map((o) => el("tr", {},
      td("Currency", o.currency), td("Orders", String(o.orders)), td("Revenue", o.revenue),
      td("Refunds", o.refunds), td("Net revenue", o.net_revenue), td("Commission", o.commission),
      td("Costs", o.costs)))));
  container.append(table);
}

function drawComparison() {
  if (state.report) drawRanking($("compare-chart"), state.report.rows, $("compare-by").value, state.report.currency);
}

export async function load() {
  renderHeader();
  await attempt($("report-error"), async () => {
    const range = chosenRange();
    const previous = previousRange(range);
    const [report, before] = await Promise.all([
      api("/api/v1/reports/influencers?" + reportQuery(range)),
      api("/api/v1/reports/influencers?" + reportQuery(previous)),
    ]);
    state.report = report;
    $("previous-label").textContent = previous.from + " to " + previous.to;
    $("held-link").textContent = report.totals.held_orders + " orders held for review";
    renderCards($("cards"), report.totals, before.currency === report.currency ? before.totals : null, report.currency);
    renderTable(report);
    renderOtherCurrencies($("other-currencies"), report.other_currencies);
    drawComparison();
  });
}

/// The file name the server gives a CSV report (its period in it), so downloads of several
/// periods do not all land as the same name.
function fileName(response) {
  const match = FILENAME.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : "reftrack-report.csv";
}
const FILENAME = /filename="([^"]+)"/;

async function downloadCsv() {
  const params = reportQuery(chosenRange());
  params.set("format", "csv");
  await attempt($("report-error"), async () => {
    const response = await api("/api/v1/reports/influencers?" + params, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const a = el("a", { href: url, download: fileName(response) });
    a.click();
    URL.revokeObjectURL(url);
  });
}

export function wire() {
  $("csv").addEventListener("click", downloadCsv);
  $("compare-by").addEventListener("change", drawComparison);
}
