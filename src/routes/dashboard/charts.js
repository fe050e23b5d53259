// The dashboard's two charts, drawn as SVG at the element's own width so text keeps its
// size on a phone and a wide screen.
"use strict";

import { svg } from "./core.js";

function width(chart) {
  return Math.max(300, Math.round(chart.getBoundingClientRect().width) || 640);
}

/// Daily clicks as bars and net revenue as a line, one bar per day.
export function drawDaily(chart, daily) {
  chart.replaceChildren();
  const days = daily.days;
  const w = width(chart);
  const [height, left, bottom, top] = [240, 44, 24, 26];
  chart.setAttribute("viewBox", "0 0 " + w + " " + height);
  const plot = height - bottom - top;
  const maxClicks = Math.max(1, ...days.map((d) => d.clicks));
  const maxRevenue = Math.max(1, ...days.map((d) => Number(d.net_revenue)));
  const step = (w - left - 8) / Math.max(1, days.length);
  chart.appendChild(svg("line", { class: "axis", x1: left, y1: top + plot, x2: w, y2: top + plot }));
  chart.appendChild(svg("text", { x: 2, y: top - 10 }, String(maxClicks) + " clicks"));
  chart.appendChild(svg("text", { x: 2, y: top + plot }, "0"));
  chart.appendChild(svg("text", { x: w - 4, y: top - 10, "text-anchor": "end" },
    maxRevenue.toFixed(2) + " " + daily.currency));
  const points = [];
  days.forEach((d, i) => {
    const x = left + i * step;
    const h = (d.clicks / maxClicks) * plot;
    const bar = svg("rect", { class: "bar", x: x + 1, y: top + plot - h, width: Math.max(1, step - 2), height: h });
    bar.appendChild(svg("title", {}, d.date + ": " + d.clicks + " clicks (" + d.bot_clicks + " bots), "
      + d.net_revenue + " " + d.currency));
    chart.appendChild(bar);
    points.push((x + step / 2).toFixed(1) + "," + (top + plot - (Number(d.net_revenue) / maxRevenue) * plot).toFixed(1));
  });
  chart.appendChild(svg("polyline", { class: "line", points: points.join(" ") }));
  if (days.length) {
    chart.appendChild(svg("text", { x: left, y: height - 6 }, days[0].date));
    chart.appendChild(svg("text", { x: w - 4, y: height - 6, "text-anchor": "end" }, days[days.length - 1].date));
  }
}

/// Influencers ranked by `key` (profit or roi), best first, as horizontal bars from a zero
/// line: losses extend left of it.
export function drawRanking(chart, rows, key, currency) {
  chart.replaceChildren();
  const ranked = rows
    .filter((r) => r.influencer_id && r[key] !== null && r[key] !== undefined)
    .map((r) => ({ row: r, value: Number(r[key]) * (key === "roi" ? 100 : 1) }))
    .sort((a, b) => b.value - a.value)
    .slice(0, 12);
  const w = width(chart);
  const rowHeight = 26;
  const height = Math.max(1, ranked.length) * rowHeight + 8;
  chart.setAttribute("viewBox", "0 0 " + w + " " + height);
  chart.style.height = height + "px";
  if (!ranked.length) {
    chart.appendChild(svg("text", { x: 4, y: 20 }, "No influencer has figures in this period."));
    return;
  }
  const label = Math.min(140, Math.round(w * 0.3));
  const plot = w - label - 70;
  const max = Math.max(...ranked.map((r) => Math.abs(r.value)), 1e-9);
  const hasLoss = ranked.some((r) => r.value < 0);
  const zero = label + (hasLoss ? plot / 2 : 0);
  const scale = (hasLoss ? plot / 2 : plot) / max;
  chart.appendChild(svg("line", { class: "axis", x1: zero, y1: 0, x2: zero, y2: height }));
  ranked.forEach((r, i) => {
    const y = 4 + i * rowHeight;
    const length = Math.abs(r.value) * scale;
    const x = r.value < 0 ? zero - length : zero;
    const unit = key === "roi" ? " %" : " " + currency;
    const text = (key === "roi" ? r.value.toFixed(1) : String(r.row[key])) + unit;
    chart.appendChild(svg("text", { x: 4, y: y + 16, class: "name" }, "@" + r.row.handle));
    const bar = svg("rect", {
      class: r.value < 0 ? "bar neg" : "bar pos", x, y: y + 3, width: Math.max(1, length), height: rowHeight - 8,
      "data-influencer": r.row.influencer_id,
    });
    bar.appendChild(svg("title", {}, "@" + r.row.handle + ": " + text));
    chart.appendChild(bar);
    const valueX = r.value < 0 ? Math.max(label, x - 4) : x + length + 4;
    chart.appendChild(svg("text", { x: valueX, y: y + 16, "text-anchor": r.value < 0 ? "end" : "start" }, text));
  });
}
