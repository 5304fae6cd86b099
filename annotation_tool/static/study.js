// Caption-quality study: each caption of the image rated 1-5 on three aspects, blind.
"use strict";
(() => {
  const page = PI.pageData();
  const viewer = new PI.ImageViewer(document.getElementById("viewer"));
  const keeper = new PI.ClaimKeeper(page.lockTtlS);
  const box = document.getElementById("captions");
  let current = null;

  function scale(captionId, aspect) {
    const name = `c${captionId}-${aspect.id}`;
    return PI.el("div", { class: "scale" }, PI.el("span", { class: "aspect" }, aspect.title),
      [1, 2, 3, 4, 5].map((s) => PI.el("label", {}, PI.el("input", { type: "radio", name, value: s }), s)));
  }

  function show(item) {
    current = item;
    viewer.show(item.id);
    document.getElementById("item-meta").textContent = PI.itemMeta(item);
    box.replaceChildren(...item.captions.map((c) => PI.el("div", { class: "caption", dataset: { caption: c.id } },
      PI.el("h3", {}, c.label), PI.el("p", { class: "caption-text" }, c.caption),
      page.aspects.map((a) => scale(c.id, a)))));
    PI.setStatus("");
  }

  async function next() {
    PI.refreshProgress(page.projectId, "study");
    try {
      const item = await PI.api("POST", `/api/projects/${page.projectId}/claims`, { task: "study" });
      if (!item) {
        current = null; keeper.stop(); viewer.clear(); document.getElementById("item-meta").textContent = ""; box.replaceChildren();
        PI.setStatus("Nothing left to rate.", "done");
        return;
      }
      keeper.hold(item.id);
      show(item);
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  async function submit() {
    if (!current) return;
    const ratings = [];
    for (const c of current.captions) {
      const r = { caption_id: c.id };
      for (const a of page.aspects) {
        const picked = document.querySelector(`input[name="c${c.id}-${a.id}"]:checked`);
        if (!picked) { PI.setStatus(`Rate ${a.title} of ${c.label}.`, "error"); return; }
        r[a.id] = Number(picked.value);
      }
      ratings.push(r);
    }
    try {
      await PI.api("POST", `/api/items/${current.id}/ratings`, { ratings });
      await next();
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  document.getElementById("submit").addEventListener("click", submit);
  window.addEventListener("pagehide", () => keeper.release());
  next();
})();
