// Audit: accept, or reject naming the broken rules with a comment for the annotator.
"use strict";
(() => {
  const page = PI.pageData();
  const viewer = new PI.ImageViewer(document.getElementById("viewer"));
  const keeper = new PI.ClaimKeeper(page.lockTtlS);
  const ruleBoxes = [...document.querySelectorAll("#broken-rules input")];
  const comment = document.getElementById("comment");
  let current = null;
  let acceptArmed = false;  // Alt+A pressed once with rules ticked or a comment typed

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
    acceptArmed = false;
    showRevision(item.revision);
    const link = document.getElementById("history-link");
    link.href = `/items/${item.id}/history`;
    link.hidden = false;
    PI.setStatus("");
  }

  // A resubmission: marked as a revision, with the rejection that sent it back and
  // what changed since (deleted words struck through, new ones underlined).
  function showRevision(rev) {
    const box = document.getElementById("revision");
    box.hidden = !rev;
    // The diff holds the whole new text: the plain copy is shown on request only.
    document.getElementById("description").hidden = !!rev;
    if (!rev) return;
    document.getElementById("revision-badge").textContent = `Revision ${rev.audit_cycle - 1}`;
    document.getElementById("revision-title").textContent = `v${rev.version}, resubmitted after v${rev.previous_version} was rejected`;
    document.getElementById("revision-rejections").replaceChildren(...rev.rejections.map((r) =>
      PI.el("li", {}, PI.el("b", {}, `Rejected (${r.rules.join(", ")})`), r.reviewer ? ` by ${r.reviewer}` : "", `, round ${r.round}: `, PI.el("q", {}, r.comment))));
    document.getElementById("diff").replaceChildren(...rev.diff.map((d) =>
      d.op === "equal" ? d.text : PI.el(d.op === "insert" ? "ins" : "del", {}, d.text)));
  }

  async function next() {
    PI.refreshProgress(page.projectId, page.task);
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

  async function decide(decision, byKey = false) {
    if (!current) return;
    const rules = ruleBoxes.filter((b) => b.checked).map((b) => b.value);
    // A key press must not throw away ticked rules: accepting drops them, so the
    // first Alt+A only warns (a typed comment goes with the acceptance).
    if (decision === "accept" && byKey && rules.length && !acceptArmed) {
      acceptArmed = true;
      PI.setStatus(`You ticked ${rules.join(", ")}: press Alt+A again to accept anyway (the ticks are dropped), or Alt+R to reject.`, "error");
      return;
    }
    if (decision === "reject" && (!rules.length || !comment.value.trim())) {
      PI.setStatus("A rejection names the broken rule(s) and says what to fix.", "error");
      return;
    }
    try {
      const id = current.id;
      const out = await PI.api("POST", `/api/items/${id}/reviews`, { decision, rules: decision === "reject" ? rules : [], comment: comment.value });
      PI.lastAction(decision === "accept"
        ? `Item ${id} accepted in round ${out.round}${out.stage === "done" ? ": it is done" : ""}.`
        : `Item ${id} rejected (${out.rules.join(", ")}): back to its annotator.`);
      await next();
    } catch (e) { PI.setStatus(e.message, "error"); }
  }

  document.getElementById("accept").addEventListener("click", () => decide("accept"));
  document.getElementById("reject").addEventListener("click", () => decide("reject"));
  document.getElementById("show-clean").addEventListener("click", (e) => {
    e.preventDefault();
    const plain = document.getElementById("description");
    plain.hidden = !plain.hidden;
  });
  ruleBoxes.forEach((b) => b.addEventListener("change", () => { acceptArmed = false; }));
  // e.code: on macOS Alt+A types "å", so e.key is no use there.
  document.addEventListener("keydown", (e) => {
    if (e.altKey && !PI.mod(e) && e.code === "KeyA") { e.preventDefault(); decide("accept", true); }
    else if (e.altKey && !PI.mod(e) && e.code === "KeyR") { e.preventDefault(); decide("reject", true); }
    else if (viewer.handleKey(e)) e.preventDefault();
  });
  PI.setupSkip(() => current, async () => { keeper.stop(); await next(); });
  window.addEventListener("pagehide", () => keeper.release());
  next();
})();
