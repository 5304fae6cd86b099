// Selection: score 1-5 by keyboard; Enter submits and claims the next image;
// arrows move to the next image (skip) or back to images scored in this session.
"use strict";
(() => {
  const page = PI.pageData();
  const viewer = new PI.ImageViewer(document.getElementById("viewer"));
  const keeper = new PI.ClaimKeeper(page.lockTtlS);
  const scoreButtons = [...document.querySelectorAll("#scores button")];
  const checks = [...document.querySelectorAll("#checklist input")];
  let current = null;     // the item on screen
  let claimed = null;     // the item this person holds the claim on
  let chosen = null;
  const history = [];     // ids scored in this session, for the previous key
  let back = 0;           // how far back in history we are (0 = at the claimed item)
  const skipped = [];

  const submitButton = document.getElementById("submit");
  let unreadable = null;  // why the image on screen does not load, if it does not

  function choose(score) {
    if (unreadable !== null && score !== null) { PI.setStatus(`This image cannot be read (${unreadable}), so it cannot be scored: report it with "Unreadable image".`, "error"); return; }
    chosen = score;
    scoreButtons.forEach((b) => b.classList.toggle("chosen", Number(b.dataset.score) === score));
  }

  function show(item, mine) {
    current = item;
    unreadable = item.image_problem || null;
    setScorable(unreadable === null);
    viewer.show(item.id);
    document.getElementById("item-meta").textContent = PI.itemMeta(item) + (back ? ` · scored earlier (${back} back)` : "");
    const own = mine || (item.scores || []).find((s) => s.round === 0);
    choose(own ? own.score : null);
    const ticked = new Set(own ? own.checklist : []);
    checks.forEach((c) => { c.checked = ticked.has(c.value); });
    PI.setStatus(back ? "You can change this score until an inspector has checked it." : "");
  }

  function setScorable(yes) {
    scoreButtons.forEach((b) => { b.disabled = !yes; });
    submitButton.disabled = !yes;
  }

  async function next() {
    back = 0;
    PI.refreshProgress(page.projectId, page.task);
    try {
      const item = await PI.api("POST", `/api/projects/${page.projectId}/claims`, { task: "selection", exclude: skipped });
      if (!item) {
        claimed = null; current = null; keeper.stop(); viewer.clear();
        document.getElementById("item-meta").textContent = "";
        PI.setStatus("The queue is empty. Thank you!", "done");
        return;
      }
      claimed = item;
      keeper.hold(item.id);
      show(item);
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  async function submit() {
    if (!current) return;
    if (chosen === null) { PI.setStatus("Choose a score 1-5 first.", "error"); return; }
    const checklist = checks.filter((c) => c.checked).map((c) => c.value);
    try {
      await PI.api("POST", `/api/items/${current.id}/scores`, { score: chosen, checklist });
      PI.lastAction(`Item ${current.id} scored ${chosen}.`);
      if (back === 0) { history.push(current.id); await next(); }
      else { PI.setStatus(`Score ${chosen} saved.`, "done"); }
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  async function previous() {
    if (back >= history.length) return;
    back += 1;
    try {
      show(await PI.api("GET", `/api/items/${history[history.length - back]}`));
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  async function forward() {
    if (back > 1) {
      back -= 1;
      show(await PI.api("GET", `/api/items/${history[history.length - back]}`));
    } else if (back === 1) {
      back = 0;
      if (claimed) show(claimed); else await next();
    } else if (current) {
      skipped.push(current.id);
      await keeper.release();
      await next();
    }
  }

  viewer.onProblem = (id, why) => {
    if (!current || current.id !== id) return;
    unreadable = why;
    choose(null);
    setScorable(false);
    PI.setStatus(`This image cannot be read (${why}), so it cannot be scored: report it with "Unreadable image".`, "error");
  };
  PI.setupSkip(() => (back === 0 ? current : null), async () => { keeper.stop(); await next(); });
  scoreButtons.forEach((b) => b.addEventListener("click", () => choose(Number(b.dataset.score))));
  document.getElementById("submit").addEventListener("click", submit);
  document.addEventListener("keydown", (e) => {
    // Shift+1-8 ticks rule S1-S8 (e.code: Shift+1 is "!" on one layout, "1" on another).
    const rule = /^Digit([1-8])$/.exec(e.code);
    if (rule && e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey && !PI.typing(e)) {
      const box = checks[Number(rule[1]) - 1];
      if (box) { box.checked = !box.checked; e.preventDefault(); }
      return;
    }
    if (PI.typing(e) || e.ctrlKey || e.metaKey || e.altKey) { if (viewer.handleKey(e)) e.preventDefault(); return; }
    if (/^[1-5]$/.test(e.key)) { choose(Number(e.key)); e.preventDefault(); }
    else if (e.key === "Enter") { e.preventDefault(); submit(); }
    else if (e.key === "ArrowRight") { e.preventDefault(); forward(); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); previous(); }
    else if (viewer.handleKey(e)) e.preventDefault();
  });
  keeper.onLost = (e) => PI.setStatus(`${e.message} Press → for the next image.`, "error");
  window.addEventListener("pagehide", () => keeper.release());
  next();
})();
