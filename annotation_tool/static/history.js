"use strict";
(async () => {
  const id = document.getElementById("history").dataset.item;
  const h = await PI.api("GET", `/api/items/${id}/history`);
  const row = (...cells) => PI.el("tr", {}, cells.map((c) => PI.el("td", {}, c ?? "")));
  document.querySelector("#h-scores tbody").replaceChildren(
    ...h.scores.map((s) => row(`round ${s.round}`, s.score, s.user, (s.checklist || []).join(" "), s.comment, s.at)));
  document.getElementById("h-versions").replaceChildren(...h.versions.map((v) => PI.el("details", {},
    PI.el("summary", {}, `v${v.version} · ${v.kind} · ${v.author || v.draft_model || ""} · ${v.at}`),
    PI.el("p", { class: "description" }, v.text))));
  document.querySelector("#h-reviews tbody").replaceChildren(...h.reviews.map((r) =>
    row(`cycle ${r.audit_cycle} round ${r.round}`, `v${r.version}`, r.reviewer, r.decision, r.rules.join(" "), r.comment, r.at)));
  document.querySelector("#h-log tbody").replaceChildren(...h.log.map((e) =>
    row(e.at, e.user, e.action, JSON.stringify(e.data))));
})();
