// What every view of the dashboard shares: the API with the signed-in token, element
// helpers, the chosen period, and how figures are written.
"use strict";

export const $ = (id) => document.getElementById(id);

const TOKEN_KEY = "reftrack-token";

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

/// Called when the server refuses the token (set by the app).
let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

export async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { onUnauthorized("The token was refused."); throw new Error("unauthorized"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error((body.error && body.error.message) || "HTTP " + response.status);
  }
  if (options.raw) return response;
  return response.status === 204 ? null : response.json();
}

export function post(path, body) { return api(path, { method: "POST", body: JSON.stringify(body) }); }
export function patch(path, body) { return api(path, { method: "PATCH", body: JSON.stringify(body) }); }
export function del(path) { return api(path, { method: "DELETE" }); }

/// Every item of a paged list, following next_cursor.
export async function all(path, field) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const separator = path.includes("?") ? "&" : "?";
    const after = cursor ? "&cursor=" + encodeURIComponent(cursor) : "";
    const answer = await api(path + separator + "limit=1000" + after);
    items.push(...answer[field]);
    if (!answer.next_cursor) break;
    cursor = answer.next_cursor;
  }
  return items;
}

/// An element with attributes (`text` sets its text, `on<event>` a listener) and children.
export function el(name, attributes = {}, ...children) {
  const element = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") element.textContent = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

export function svg(name, attributes, text) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

/// Shows a failure in an error element; an empty message hides it.
export function showError(element, error) {
  element.textContent = error ? error.message || String(error) : "";
}

/// Runs an action, reporting its failure in `errorElement`.
export async function attempt(errorElement, action) {
  showError(errorElement, null);
  try {
    return await action();
  } catch (e) {
    if (e.message !== "unauthorized") showError(errorElement, e);
    return undefined;
  }
}

// ---- the period ----

function isoDay(date) { return date.toISOString().slice(0, 10); }
function utcDay(text) { return new Date(text + "T00:00:00Z"); }
function addDays(text, days) {
  const date = utcDay(text);
  date.setUTCDate(date.getUTCDate() + days);
  return isoDay(date);
}
function today() {
  const now = new Date();
  return isoDay(new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())));
}

/// The from and to days of a preset ("7", "30", "this-month", "last-month").
export function presetRange(preset) {
  const end = today();
  if (preset === "this-month") return { from: end.slice(0, 8) + "01", to: end };
  if (preset === "last-month") {
    const first = utcDay(end.slice(0, 8) + "01");
    const last = addDays(isoDay(first), -1);
    return { from: last.slice(0, 8) + "01", to: last };
  }
  const days = Number(preset) || 30;
  return { from: addDays(end, 1 - days), to: end };
}

/// The period of the same length just before `range`.
export function previousRange(range) {
  const length = Math.round((utcDay(range.to) - utcDay(range.from)) / 86400000) + 1;
  return { from: addDays(range.from, -length), to: addDays(range.from, -1) };
}

/// The period and filters chosen in the filter form.
export function chosenRange() {
  if (!$("from").value || !$("to").value) {
    const range = presetRange($("preset").value);
    $("from").value = range.from;
    $("to").value = range.to;
  }
  return { from: $("from").value, to: $("to").value };
}

export function rangeQuery(range = chosenRange()) {
  const params = new URLSearchParams(range);
  if ($("currency").value.trim()) params.set("currency", $("currency").value.trim().toUpperCase());
  return params;
}

// ---- figures ----

export const PERCENT = new Set(["conversion_rate", "roi", "suspicious_share"]);

/// A figure as the report gives it, for reading: ratios as percents, null as a dash.
export function figure(key, value) {
  if (value === null || value === undefined) return "–";
  if (PERCENT.has(key)) return (value * 100).toFixed(1) + " %";
  return String(value);
}

/// "pos" or "neg" for a signed money or ratio value.
export function sign(value) {
  if (value === null || value === undefined) return "";
  return String(value).startsWith("-") ? "neg" : "pos";
}

/// A table cell labelled with its column's title, which a phone shows beside the value.
export function td(label, content, className) {
  const cell = el("td", { "data-label": label, class: className });
  if (content instanceof Node) cell.append(content); else cell.textContent = content;
  return cell;
}

/// Replaces a table's header with `titles`; those in `numeric` are aligned as figures.
export function header(table, titles, numeric = []) {
  table.querySelector("thead tr").replaceChildren(...titles.map((t) =>
    el("th", { scope: "col", text: t, class: numeric.includes(t) ? "num" : undefined })));
}

/// Copies text to the clipboard (or selects it where the clipboard is not allowed).
export async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const field = el("textarea", { class: "offscreen" });
    field.value = text;
    document.body.append(field);
    field.select();
    document.execCommand("copy");
    field.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
}
