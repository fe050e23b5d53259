// reftrack dashboard: one page over the admin API, in views (overview, influencers, one
// influencer, campaigns, orders) chosen by the address's #fragment. The token stays in this
// tab's sessionStorage and goes to the API as a bearer token; nothing is loaded from
// elsewhere. Each view is its own module; this one signs in and routes.
"use strict";

import { $, attempt, clearToken, presetRange, setToken, token, whenUnauthorized } from "./core.js";
import * as overview from "./overview.js";
import * as influencers from "./influencers.js";
import * as influencer from "./influencer.js";
import * as campaigns from "./campaigns.js";
import * as orders from "./orders.js";

/// Views by the first part of the fragment, and what showing each reads.
const VIEWS = {
  overview: () => overview.load(),
  influencers: () => influencers.load(rememberHandles),
  influencer: (id) => influencer.show(id, campaigns.known.campaigns),
  campaigns: () => campaigns.load(),
  orders: () => orders.load(),
};

function rememberHandles(list) {
  orders.handles.clear();
  for (const i of list) orders.handles.set(i.id, "@" + i.handle);
  orders.fillInfluencers(list);
}

function route() {
  const [name, ...rest] = (location.hash.slice(1) || "overview").split("/");
  const view = VIEWS[name] ? name : "overview";
  for (const section of document.querySelectorAll("main > .view")) section.hidden = section.dataset.view !== view;
  for (const link of document.querySelectorAll("#nav a")) {
    const current = link.dataset.view === view || (view === "influencer" && link.dataset.view === "influencers");
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  return VIEWS[view](decodeURIComponent(rest.join("/")));
}

function describePeriod() {
  $("period-label").textContent = "(" + $("from").value + " to " + $("to").value + ")";
}

async function show() {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  // The filters stay open on a wide screen and folded on a phone.
  $("filters").open = window.matchMedia("(min-width: 700px)").matches;
  const range = presetRange($("preset").value);
  if (!$("from").value) $("from").value = range.from;
  if (!$("to").value) $("to").value = range.to;
  describePeriod();
  await influencers.load(rememberHandles);
  await campaigns.load();
  await route();
}

function signOut(message) {
  clearToken();
  for (const id of ["app", "nav", "sign-out"]) $(id).hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
}

whenUnauthorized(signOut);
$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  setToken($("token").value.trim());
  $("token").value = "";
  await attempt($("sign-in-error"), show);
});
$("sign-out").addEventListener("click", () => signOut());
$("preset").addEventListener("change", () => {
  if ($("preset").value === "custom") { $("from").focus(); return; }
  const range = presetRange($("preset").value);
  $("from").value = range.from;
  $("to").value = range.to;
  describePeriod();
  route();
});
for (const id of ["from", "to"]) $(id).addEventListener("change", () => { $("preset").value = "custom"; });
$("range").addEventListener("submit", (event) => { event.preventDefault(); describePeriod(); route(); });
$("campaign").addEventListener("change", () => route());
window.addEventListener("hashchange", () => { if (token()) route(); });
overview.wire();
influencers.wire(rememberHandles);
influencer.wire(() => influencers.load(rememberHandles));
campaigns.wire();
orders.wire();
if (token()) show().catch(() => {});
