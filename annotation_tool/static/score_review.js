// Inspection (reviewers confirm or correct a score) and settlement (an admin decides).
"use strict";
(() => {
  const page = PI.pageData();
  const viewer = new PI.ImageViewer(document.getElementById("viewer"));
  const keeper = new PI.ClaimKeeper(page.lockTtlS);
  const scoreButtons = [...document.querySelectorAll("#scores button")];
  const endpoint = page.task === "settle" ? "settlements" : "inspections";
  const roundNames = { 0: "annotator", 1: "inspection 1", 2: "inspection 2", 3: "settlement" };
  let current = null;
  let chosen = null;
  const skipped = [];

  function choose(score) {
    chosen = score;
    PI.setupSkip(() => current, async () => { keeper.stop(); await next(); });
  scoreButtons.forEach((b) => b.classList.toggle("chosen", Number(b.dataset.score) === score));
  }

  function show(item) {
    current = item;
    viewer.show(item.id);
    document.getElementById("item-meta").textContent = `${PI.itemMeta(item)} · ${item.stage}`;
    // Blind: no earlier scores, no names, and no one-key confirm of a score not seen.
    document.getElementById("blind-note").hidden = !item.blind;
    document.getElementById("prior").hidden = item.blind;
    document.querySelectorAll(".unblind-only").forEach((n) => { n.hidden = item.blind || page.task === "settle"; });
    const rows = item.scores.map((s) => PI.el("tr", { dataset: { round: s.round } },
      PI.el("td", {}, roundNames[s.round] || s.round), PI.el("td", { class: "score" }, s.score),
      PI.el("td", {}, s.user || ""), PI.el("td", {}, [...(s.checklist || []), s.comment].filter(Boolean).join(" · "))));
    document.querySelector("#prior-scores tbody").replaceChildren(...rows);
    document.getElementById("comment").value = "";
    choose(null);
    PI.setStatus("");
  }

  async function next() {
    PI.refreshProgress(page.projectId, page.task);
    try {
      const item = await PI.api("POST", `/api/projects/${page.projectId}/claims`, { task: page.task, exclude: skipped });
      if (!item) {
        current = null; keeper.stop(); viewer.clear(); document.getElementById("item-meta").textContent = "";
        document.querySelector("#prior-scores tbody").replaceChildren();
        PI.setStatus("Nothing waits for you here now.", "done");
        return;
      }
      keeper.hold(item.id);
      show(item);
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  async function submit() {
    if (!current) return;
    if (chosen === null) { PI.setStatus("Choose a score 1-5 first.", "error"); return; }
    try {
      await PI.api("POST", `/api/items/${current.id}/${endpoint}`, { score: chosen, comment: document.getElementById("comment").value });
      PI.lastAction(`Item ${current.id}: ${page.task === "settle" ? "settled at" : "inspected,"} ${chosen}.`);
      await next();
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  PI.setupSkip(() => current, async () => { keeper.stop(); await next(); });
  scoreButtons.forEach((b) => b.addEventListener("click", () => choose(Number(b.dataset.score))));
  document.getElementById("submit").addEventListener("click", submit);
  document.addEventListener("keydown", (e) => {
    if (PI.typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^[1-5]$/.test(e.key)) { choose(Number(e.key)); e.preventDefault(); }
    else if (e.key === "c" && current && !current.blind) {
      const own = current.scores.find((s) => s.round === 0);
      if (own) choose(own.score);
    } else if (e.key === "Enter") { e.preventDefault(); submit(); }
    else if (e.key === "ArrowRight" && current) { e.preventDefault(); skipped.push(current.id); keeper.release().then(next); }
    else if (viewer.handleKey(e)) e.preventDefault();
  });
  window.addEventListener("pagehide", () => keeper.release());
  next();
})();
