// Description editor: live rule checks, autosave with versioned saves, and a copy in
// localStorage so a reload, a network drop or an expired session loses nothing.
"use strict";
(() => {
  const page = PI.pageData();
  const cfg = page.rules;
  const viewer = new PI.ImageViewer(document.getElementById("viewer"));
  const keeper = new PI.ClaimKeeper(page.lockTtlS);
  const editor = document.getElementById("editor");
  const saveState = document.getElementById("save-state");
  const submitButton = document.getElementById("submit");
  const AUTOSAVE_MS = 1200;
  const RETRY_MS = 3000;
  let item = null;
  let baseVersion = 0;
  let savedText = "";
  let saving = false;
  let timer = null;
  let conflict = null;
  let skipping = false;  // a skip is on its way: autosave stays off

  const key = PI.draftKey;
  const readLocal = (id) => { try { return JSON.parse(localStorage.getItem(key(id))); } catch (e) { return null; } };
  function remember() {
    if (item && !PI.isLoggingOut()) localStorage.setItem(key(item.id), JSON.stringify({ text: editor.value, base: baseVersion, saved: editor.value === savedText }));
  }
  // A coloured badge beside the counts; the time of the last good save after it.
  function setSaveState(text, kind = "") {
    saveState.textContent = text;
    saveState.className = `save-state ${kind}`;
    saveState.title = kind === "ok" && lastSavedAt ? `last saved at ${lastSavedAt}` : "";
  }
  let lastSavedAt = null;

  function liveCheck() {
    const result = DescriptionRules.check(editor.value, cfg);
    document.getElementById("word-count").textContent = `${result.words} words (${cfg.minWords}-${cfg.maxWords})`;
    document.getElementById("sentence-count").textContent = `${result.sentences} sentences (${cfg.minSentences}-${cfg.maxSentences})`;
    DescriptionRules.render(document.getElementById("checks"), result, page.descriptionRules);
    return result;
  }

  function schedule(ms = AUTOSAVE_MS) {
    clearTimeout(timer);
    timer = setTimeout(save, ms);
  }

  async function save() {
    if (skipping) return;
    if (!item || conflict || editor.value === savedText) { if (item && editor.value === savedText) setSaveState("saved", "ok"); return; }
    if (saving) { schedule(); return; }
    saving = true;
    const text = editor.value;
    setSaveState("saving…");
    try {
      const resp = await PI.api("PUT", `/api/items/${item.id}/description`, { text, base_version: baseVersion });
      baseVersion = resp.version;
      savedText = text;
      lastSavedAt = new Date().toLocaleTimeString();
      remember();
      setSaveState(editor.value === savedText ? "saved" : "unsaved", editor.value === savedText ? "ok" : "");
      if (editor.value !== savedText) schedule();
    } catch (e) {
      if (e.status === 409 && e.body.error === "conflict") showConflict(e.body);
      else if (e.status === 409) { setSaveState("not saved", "bad"); PI.setStatus(e.message, "error"); }
      else { setSaveState(e.status === 0 ? "offline: kept in this browser, retrying" : "not saved: retrying", "bad"); schedule(RETRY_MS); }
    } finally {
      saving = false;
    }
  }

  function showConflict(body) {
    conflict = body;
    document.getElementById("conflict-message").textContent =
      `${body.message} The saved version is ${body.current_version}; yours was based on ${baseVersion}.`;
    document.getElementById("conflict").hidden = false;
    setSaveState("conflict", "bad");
  }
  document.getElementById("keep-mine").addEventListener("click", () => {
    baseVersion = conflict.current_version; conflict = null;
    document.getElementById("conflict").hidden = true; save();
  });
  document.getElementById("take-theirs").addEventListener("click", () => {
    editor.value = conflict.current_text || ""; baseVersion = conflict.current_version; savedText = editor.value;
    conflict = null; document.getElementById("conflict").hidden = true; remember(); liveCheck(); setSaveState("saved", "ok");
  });

  function show(next) {
    item = next;
    conflict = null;
    submitButton.disabled = false;
    document.getElementById("conflict").hidden = true;
    viewer.show(item.id);
    document.getElementById("item-meta").textContent = `${PI.itemMeta(item)} · ${item.stage}`;
    const serverText = item.description ? item.description.text : "";
    baseVersion = item.description ? item.description.version : 0;
    savedText = serverText;
    editor.value = serverText;
    const local = readLocal(item.id);
    if (local && !local.saved && local.text !== serverText) {
      if (local.base === baseVersion) { editor.value = local.text; schedule(0); PI.setStatus("Restored text you had not saved yet.", "done"); }
      else {
        editor.value = local.text;
        showConflict({ message: "Text typed in this browser was not saved before the description changed on the server.", current_version: baseVersion, current_text: serverText });
      }
    } else {
      PI.setStatus("");
    }
    const draft = document.getElementById("draft-note");
    draft.hidden = !item.draft_model;
    draft.textContent = item.draft_model ? `Started from a draft by ${item.draft_model}; rewrite it so it follows the rules.` : "";
    const cycles = item.reviews.map((r) => r.audit_cycle);
    const last = cycles.length ? Math.max(...cycles) : 0;
    const rejections = item.reviews.filter((r) => r.decision === "reject" && r.audit_cycle === last);
    document.getElementById("rejections").hidden = rejections.length === 0;
    document.getElementById("rejection-list").replaceChildren(
      ...rejections.map((r) => PI.el("li", {}, PI.el("b", {}, r.rules.join(", ")), ` (round ${r.round}): `, r.comment)));
    liveCheck();
    setSaveState(editor.value === savedText ? "saved" : "unsaved", editor.value === savedText ? "ok" : "");
    editor.focus();
  }

  async function next() {
    try {
      const claimed = await PI.api("POST", `/api/projects/${page.projectId}/claims`, { task: page.task });
      if (!claimed) {
        item = null; keeper.stop(); viewer.clear(); document.getElementById("item-meta").textContent = ""; editor.value = ""; editor.disabled = true;
        submitButton.disabled = true;
        PI.setStatus("Nothing waits for you here now.", "done");
        return;
      }
      editor.disabled = false;
      keeper.hold(claimed.id);
      show(claimed);
    } catch (e) { PI.setStatus(e.message, "error"); }
    finally { PI.refreshProgress(page.projectId, page.task); }
  }

  async function submit() {
    if (!item) return;
    clearTimeout(timer);
    try {
      await PI.api("POST", `/api/items/${item.id}/description/submissions`, { text: editor.value, base_version: baseVersion });
      localStorage.removeItem(key(item.id));
      PI.lastAction(`Item ${item.id} submitted for audit.`);
      PI.setStatus("Submitted for audit.", "done");
      await next();
    } catch (e) {
      if (e.status === 422 && e.body.violations) {
        PI.setStatus(`Not submitted: ${e.body.violations.map((v) => `${v.rule}: ${v.message}`).join(" ")}`, "error");
      } else if (e.status === 409 && e.body.error === "conflict") {
        showConflict(e.body);
      } else {
        PI.setStatus(e.message, "error");
      }
    }
  }

  editor.addEventListener("input", () => { remember(); liveCheck(); setSaveState("unsaved"); schedule(); });
  submitButton.addEventListener("click", submit);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && PI.mod(e)) { e.preventDefault(); submit(); }
    else if (viewer.handleKey(e)) e.preventDefault();  // Alt + / - / 0 work while typing
  });
  // An image that does not load cannot be described: say why and offer the report.
  viewer.onProblem = (id, why) => {
    if (!item || item.id !== id) return;
    submitButton.disabled = true;
    PI.setStatus(`This image cannot be read (${why}), so it cannot be described: report it with "Unreadable image".`, "error");
  };
  PI.setupSkip(() => item, async () => {
    if (item) localStorage.removeItem(key(item.id));
    item = null;
    skipping = false;
    keeper.stop();
    await next();
  }, async () => {
    // No save may follow the skip: it would make the skipper the author again.
    skipping = true;
    clearTimeout(timer);
    while (saving) await new Promise((resolve) => setTimeout(resolve, 50));
  }, () => { skipping = false; schedule(); });
  window.addEventListener("online", () => schedule(0));
  keeper.onLost = (e) => PI.setStatus(`${e.message} Your text stays in this browser.`, "error");
  window.addEventListener("pagehide", () => { remember(); keeper.release(); });
  // At logout: one last save, then nothing more is kept in this browser.
  PI.onLogout(async () => { clearTimeout(timer); await save(); });
  next();
})();
