// The influencers view: the list (each opens its detail), a new influencer, a new link.
"use strict";

import { $, all, attempt, copy, el, post, td } from "./core.js";

/// The influencers, as last read.
export const known = { influencers: [] };

function commission(c) {
  if (!c) return "–";
  return c.percent !== undefined ? c.percent + " %" : c.flat + " per order";
}

function renderList() {
  const body = $("influencer-list").querySelector("tbody");
  body.replaceChildren(...known.influencers.map((i) => {
    const href = "#influencer/" + encodeURIComponent(i.id);
    return el("tr", { dataset: { id: i.id } },
      td("Influencer", el("a", { href, text: "@" + i.handle })),
      td("Name", i.name || "–"),
      td("Commission", commission(i.commission)),
      td("Status", i.disabled ? "disabled" : "active"));
  }));
  if (!known.influencers.length) body.append(el("tr", {}, el("td", { colspan: 4, text: "No influencers yet: add one above." })));
}

/// Reads the influencers and fills every list that names them.
export async function load(onLoaded) {
  known.influencers = await all("/api/v1/influencers", "influencers");
  const select = $("link-influencer");
  const chosen = select.value;
  select.replaceChildren(...known.influencers.filter((i) => !i.disabled)
    .map((i) => el("option", { value: i.id, text: "@" + i.handle })));
  if (chosen) select.value = chosen;
  renderList();
  if (onLoaded) onLoaded(known.influencers);
}

async function addInfluencer(event, onLoaded) {
  event.preventDefault();
  await attempt($("create-error"), async () => {
    const body = { handle: $("handle").value };
    if ($("percent").value.trim()) body.commission = { percent: $("percent").value.trim() };
    const created = await post("/api/v1/influencers", body);
    $("new-influencer").reset();
    await load(onLoaded);
    $("link-influencer").value = created.id;
  });
}

async function addLink(event) {
  event.preventDefault();
  await attempt($("create-error"), async () => {
    const body = { influencer_id: $("link-influencer").value, destination: $("destination").value };
    if ($("code").value.trim()) body.code = $("code").value.trim();
    const link = await post("/api/v1/links", body);
    $("short-url").value = link.short_url;
    $("short-url-row").hidden = false;
    $("destination").value = "";
    $("code").value = "";
  });
}

export function wire(onLoaded) {
  $("new-influencer").addEventListener("submit", (event) => addInfluencer(event, onLoaded));
  $("new-link").addEventListener("submit", addLink);
  $("copy").addEventListener("click", () => copy($("short-url").value, $("copy")));
}
