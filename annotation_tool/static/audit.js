// Audit: accept, or reject naming the broken rules with a comment for the annotator.
"use strict";
(() => {
  const page = PI.pageData();
  const viewer = new PI.ImageViewer(document.getElementById("viewer"));
  const keeper = new PI.ClaimKeeper(page.lockTtlS);
  const ruleBoxes = [...document.querySelectorAll("#broken-rules input")];
  const comment = document.getElementById("comment");
  let current = null;

  function show(item) {
    current = item;
    viewer.show(item.id);
    document.getElementById("item-meta").textContent = PI.itemMeta(item);
    document.getElementById("round").textContent = `${item.stage === "audit_1" ? "round 1" : "round 2"} · version ${item.description ? item.description.version : "-"}`;
    const text = item.description ? item.description.text : "";
    document.getElementById("description").textContent = text;  // textContent: never parsed as HTML
    DescriptionRules.render(document.getElementById("checks"), DescriptionRules.check(text, page.rules), page.descriptionRules);
    ruleBoxes.forEach((b) => { b.checked = false; });
    comment.value = "";
    PI.setStatus("");
  }

  async function next() {
    try {
      const item = await PI.api("POST", `/api/projects/${page.projectId}/claims`, { task: "audit" });
      if (!item) {
        current = null; keeper.stop(); viewer.clear(); document.getElementById("item-meta").textContent = "";
        document.getElementById("description").textContent = "";
        PI.setStatus("Nothing waits for an audit now.", "done");
        return;
      }
      keeper.hold(item.id);
      show(item);
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  async function decide(decision) {
    if (!current) return;
    const rules = ruleBoxes.filter((b) => b.checked).map((b) => b.value);
    if (decision === "reject" && (!rules.length || !comment.value.trim())) {
      PI.setStatus("A rejection names the broken rule(s) and says what to fix.", "error");
      return;
    }
    try {
      await PI.api("POST", `/api/items/${current.id}/reviews`, { decision, rules, comment: comment.value });
      await next();
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  document.getElementById("accept").addEventListener("click", () => decide("accept"));
  document.getElementById("reject").addEventListener("click", () => decide("reject"));
  document.addEventListener("keydown", (e) => {
    if (e.altKey && e.key.toLowerCase() === "a") { e.preventDefault(); decide("accept"); }
    else if (e.altKey && e.key.toLowerCase() === "r") { e.preventDefault(); decide("reject"); }
    else if (!PI.typing(e) && viewer.handleKey(e)) e.preventDefault();
  });
  window.addEventListener("pagehide", () => keeper.release());
  next();
})();
