// reftrack dashboard: one page over the admin API. The token stays in this tab's
// sessionStorage and goes to the API as a bearer token; nothing is loaded from elsewhere.
"use strict";

const COLUMNS = [
  ["handle", "Influencer"], ["clicks", "Clicks"], ["unique_clicks", "Unique"],
  ["suspicious_share", "Suspicious %"],
  ["orders", "Orders"], ["conversion_rate", "Conv. %"], ["revenue", "Revenue"],
  ["refunds", "Refunds"], ["net_revenue", "Net revenue"], ["commission", "Commission"],
  ["costs", "Costs"], ["profit", "Profit"], ["roi", "ROI %"], ["epc", "EPC"],
];
const PERCENT = new Set(["conversion_rate", "roi", "suspicious_share"]);
const state = { sort: "roi", order: "desc", influencers: [] };
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem("reftrack-token"); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { signOut("The token was refused."); throw new Error("unauthorized"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error((body.error && body.error.message) || "HTTP " + response.status);
  }
  return options.raw ? response : response.json();
}

function rangeQuery() {
  const params = new URLSearchParams();
  if ($("from").value) params.set("from", $("from").value);
  if ($("to").value) params.set("to", $("to").value);
  if ($("currency").value.trim()) params.set("currency", $("currency").value.trim());
  return params;
}

function reportQuery() {
  const params = rangeQuery();
  if ($("campaign").value) params.set("campaign_id", $("campaign").value);
  params.set("sort", state.sort);
  params.set("order", state.order);
  return params;
}

async function loadCampaigns() {
  const list = await api("/api/v1/campaigns");
  const select = $("campaign");
  const chosen = select.value;
  select.replaceChildren(select.firstElementChild || document.createElement("option"));
  select.firstElementChild.value = "";
  select.firstElementChild.textContent = "All campaigns";
  for (const campaign of list.campaigns) {
    const option = document.createElement("option");
    option.value = campaign.id;
    option.textContent = campaign.name + " (" + campaign.currency + ")";
    select.appendChild(option);
  }
  select.value = chosen;
}

function cell(row, key) {
  const td = document.createElement("td");
  const value = row[key];
  if (key === "handle") {
    td.textContent = value === null ? "(unattributed)" : "@" + value;
  } else if (value === null || value === undefined) {
    td.textContent = "–";
  } else if (PERCENT.has(key)) {
    td.textContent = (value * 100).toFixed(1);
  } else {
    td.textContent = String(value);
  }
  if ((key === "profit" || key === "roi") && value !== null) {
    td.className = String(value).startsWith("-") ? "neg" : "pos";
  }
  return td;
}

function renderHeader() {
  const tr = $("report").querySelector("thead tr");
  tr.replaceChildren();
  for (const [key, title] of COLUMNS) {
    const th = document.createElement("th");
    th.textContent = title;
    th.dataset.key = key;
    th.scope = "col";
    if (key === state.sort) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    th.addEventListener("click", () => {
      state.order = state.sort === key && state.order === "desc" ? "asc" : "desc";
      state.sort = key;
      loadReport();
    });
    tr.appendChild(th);
  }
}

async function loadReport() {
  $("report-error").textContent = "";
  renderHeader();
  try {
    const report = await api("/api/v1/reports/influencers?" + reportQuery());
    const body = $("report").querySelector("tbody");
    body.replaceChildren();
    for (const row of report.rows) {
      const tr = document.createElement("tr");
      if (row.influencer_id) tr.dataset.influencer = row.influencer_id;
      for (const [key] of COLUMNS) tr.appendChild(cell(row, key));
      body.appendChild(tr);
    }
    const foot = $("report").querySelector("tfoot");
    const totals = Object.assign({}, report.totals, { handle: null });
    const tr = document.createElement("tr");
    for (const [key] of COLUMNS) tr.appendChild(cell(totals, key));
    tr.firstChild.textContent = "Total (" + report.currency + ")";
    foot.replaceChildren(tr);
    $("held-count").textContent = report.totals.held_orders + " orders held for review";
    if ($("held").open) loadHeld();
    if (!$("from").value) $("from").value = report.from;
    if (!$("to").value) $("to").value = report.to;
  } catch (e) {
    $("report-error").textContent = e.message;
  }
}

// The review queue: orders held for review (approve or deny them through the API or CLI).
async function loadHeld() {
  const queue = await api("/api/v1/orders?review=held&" + rangeQuery());
  $("held-queue").replaceChildren(...queue.orders.map((order) => {
    const li = document.createElement("li");
    li.textContent = [order.order_key, order.attribution.influencer_id, order.revenue,
      order.currency, order.attribution.flags.join(", ")].join(" \u00b7 ");
    return li;
  }));
}

async function loadInfluencers() {
  const list = await api("/api/v1/influencers");
  state.influencers = list.influencers;
  for (const select of [$("chart-influencer"), $("link-influencer")]) {
    const chosen = select.value;
    select.replaceChildren();
    for (const influencer of state.influencers) {
      const option = document.createElement("option");
      option.value = influencer.id;
      option.textContent = "@" + influencer.handle;
      select.appendChild(option);
    }
    if (chosen) select.value = chosen;
  }
}

function svg(name, attributes, text) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

async function loadChart() {
  const chart = $("chart");
  chart.replaceChildren();
  const id = $("chart-influencer").value;
  if (!id) return;
  const daily = await api("/api/v1/reports/influencers/" + encodeURIComponent(id) + "/daily?" + rangeQuery());
  const days = daily.days;
  // Drawn at the element's own width, so text keeps its size on a phone and a wide screen.
  const width = Math.max(320, Math.round(chart.getBoundingClientRect().width) || 640);
  const [height, left, bottom, top] = [240, 44, 24, 26];
  chart.setAttribute("viewBox", "0 0 " + width + " " + height);
  const plot = height - bottom - top;
  const maxClicks = Math.max(1, ...days.map((d) => d.clicks));
  const maxRevenue = Math.max(1, ...days.map((d) => Number(d.net_revenue)));
  const step = (width - left - 8) / Math.max(1, days.length);
  chart.appendChild(svg("line", { class: "axis", x1: left, y1: top + plot, x2: width, y2: top + plot }));
  chart.appendChild(svg("text", { x: 2, y: top - 10 }, String(maxClicks) + " clicks"));
  chart.appendChild(svg("text", { x: 2, y: top + plot }, "0"));
  chart.appendChild(svg("text", { x: width - 4, y: top - 10, "text-anchor": "end" },
    maxRevenue.toFixed(2) + " " + daily.currency));
  const points = [];
  days.forEach((d, i) => {
    const x = left + i * step;
    const h = (d.clicks / maxClicks) * plot;
    const bar = svg("rect", { class: "bar", x: x + 1, y: top + plot - h, width: Math.max(1, step - 2), height: h });
    bar.appendChild(svg("title", {}, d.date + ": " + d.clicks + " clicks, " + d.net_revenue + " " + d.currency));
    chart.appendChild(bar);
    points.push((x + step / 2).toFixed(1) + "," + (top + plot - (Number(d.net_revenue) / maxRevenue) * plot).toFixed(1));
  });
  chart.appendChild(svg("polyline", { class: "line", points: points.join(" ") }));
  if (days.length) {
    chart.appendChild(svg("text", { x: left, y: height - 6 }, days[0].date));
    chart.appendChild(svg("text", { x: width - 4, y: height - 6, "text-anchor": "end" }, days[days.length - 1].date));
  }
}

async function downloadCsv() {
  const params = reportQuery();
  params.set("format", "csv");
  try {
    const response = await api("/api/v1/reports/influencers?" + params, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = "reftrack-report.csv";
    a.click();
    URL.revokeObjectURL(url);
  } catch (e) {
    $("report-error").textContent = e.message;
  }
}

async function addInfluencer(event) {
  event.preventDefault();
  $("create-error").textContent = "";
  const body = { handle: $("handle").value };
  if ($("percent").value.trim()) body.commission = { percent: $("percent").value.trim() };
  try {
    const created = await api("/api/v1/influencers", { method: "POST", body: JSON.stringify(body) });
    $("new-influencer").reset();
    await loadInfluencers();
    $("link-influencer").value = created.id;
    await loadReport();
  } catch (e) {
    $("create-error").textContent = e.message;
  }
}

async function addLink(event) {
  event.preventDefault();
  $("create-error").textContent = "";
  const body = { influencer_id: $("link-influencer").value, destination: $("destination").value };
  if ($("code").value.trim()) body.code = $("code").value.trim();
  try {
    const link = await api("/api/v1/links", { method: "POST", body: JSON.stringify(body) });
    $("short-url").value = link.short_url;
    $("short-url-row").hidden = false;
    $("new-link").reset();
  } catch (e) {
    $("create-error").textContent = e.message;
  }
}

async function copyShortUrl() {
  const field = $("short-url");
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (_) {
    field.select();
    document.execCommand("copy");
  }
  $("copy").textContent = "Copied";
  setTimeout(() => { $("copy").textContent = "Copy"; }, 1500);
}

async function show() {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  await loadInfluencers();
  await loadCampaigns();
  await loadReport();
  await loadChart();
}

function signOut(message) {
  sessionStorage.removeItem("reftrack-token");
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem("reftrack-token", $("token").value.trim());
  $("token").value = "";
  try {
    await show();
  } catch (e) {
    if (e.message !== "unauthorized") $("sign-in-error").textContent = e.message;
  }
});
$("sign-out").addEventListener("click", () => signOut());
$("held").addEventListener("toggle", () => { if ($("held").open) loadHeld().catch((e) => { $("report-error").textContent = e.message; }); });
$("range").addEventListener("submit", (event) => { event.preventDefault(); loadReport(); loadChart(); });
$("csv").addEventListener("click", downloadCsv);
$("chart-influencer").addEventListener("change", loadChart);
$("campaign").addEventListener("change", loadReport);
$("new-influencer").addEventListener("submit", addInfluencer);
$("new-link").addEventListener("submit", addLink);
$("copy").addEventListener("click", copyShortUrl);
if (token()) show().catch(() => {});
