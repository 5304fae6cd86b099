"use strict";
(async () => {
  const id = document.getElementById("history").dataset.item;
  const h = await PI.api("GET", `/api/items/${id}/history`);
  const when = (at) => new Date(`${at}Z`).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  // The timeline: one line per event, newest last; a revision carries its diff.
  document.getElementById("timeline").replaceChildren(...h.timeline.map((e) => {
    const body = [
      PI.el("time", { datetime: e.at }, when(e.at)), " ",
      PI.el("span", { class: "who" }, e.who || (e.kind === "draft" ? "VLM" : "someone")), " ",
      PI.el("span", { class: "what" }, e.title),
    ];
    if (e.detail) body.push(PI.el("div", { class: "detail" }, e.detail));
    if (e.diff) {
      body.push(PI.el("details", { open: e.kind === "revision" }, PI.el("summary", {}, "what changed"),
        PI.el("div", { class: "description diff" }, e.diff.map((d) =>
          d.op === "equal" ? d.text : PI.el(d.op === "insert" ? "ins" : "del", {}, d.text)))));
    } else if (e.text) {
      body.push(PI.el("details", {}, PI.el("summary", {}, "text"), PI.el("p", { class: "description" }, e.text)));
    }
    return PI.el("li", { class: `event ${e.kind}`, dataset: { kind: e.kind } }, body);
  }));
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
