"use strict";
(() => {
  const root = document.getElementById("dashboard");
  const projectId = root.dataset.project;
  const row = (...cells) => PI.el("tr", {}, cells.map((c) => PI.el("td", {}, c ?? "–")));

  async function load() {
    const d = await PI.api("GET", `/api/projects/${projectId}/dashboard`);
    document.querySelector("#progress tbody").replaceChildren(
      ...Object.entries(d.progress).map(([stage, n]) => row(stage, n)));
    if (root.dataset.kind !== "caption_study") showSelectionFigures(d);
    document.querySelector("#throughput tbody").replaceChildren(...d.throughput.map((t) =>
      row(t.user, Object.entries(t.actions).map(([k, v]) => `${k} ${v}`).join(", "), t.total, t.per_hour)));
    if (root.dataset.kind === "caption_study") {
      const s = await PI.api("GET", `/api/projects/${projectId}/study-results`);
      document.querySelector("#study-results tbody").replaceChildren(...s.map((m) =>
        row(m.model, m.n_captions, m.n_ratings, m.completeness, m.relevance, m.fantasy, m.overall)));
    }
  }

  function showSelectionFigures(d) {
    const a = d.agreement;
    document.querySelector("#agreement tbody").replaceChildren(
      row("pair", "items", "weighted kappa (quadratic)", "exact agreement"),
      ...["annotator_vs_inspector1", "annotator_vs_inspector2", "inspector1_vs_inspector2"].map((k) =>
        row(k.replaceAll("_", " "), a[k].n, a[k].weighted_kappa, a[k].exact_agreement)),
      row("Krippendorff's alpha (interval), all raters", "", a.krippendorff_alpha_interval, ""),
      ...["blind", "unblinded"].flatMap((mode) => [
        row(`${mode} inspections`, "", "", ""),
        ...["annotator_vs_inspector1", "annotator_vs_inspector2", "inspector1_vs_inspector2"].map((k) =>
          PI.el("tr", { dataset: { mode, pair: k } }, [`  ${k.replaceAll("_", " ")}`, a[mode][k].n, a[mode][k].weighted_kappa, a[mode][k].exact_agreement].map((c) => PI.el("td", {}, c ?? "–")))),
        row(`  alpha, ${mode}`, "", a[mode].krippendorff_alpha_interval, ""),
      ]),
      row("settled by an admin", a.settled_by_admin, "", ""));
    const k = d.skips;
    document.getElementById("skips").textContent =
      `Skipped: ${k.unreadable} as unreadable, ${k.not_a_5} as not a 5, ${k.unsure} as unsure. ${d.unreadable.length} image(s) confirmed unreadable, out of every queue:`;
    document.querySelector("#unreadable tbody").replaceChildren(...d.unreadable.map((u) =>
      PI.el("tr", {}, PI.el("td", {}, PI.el("a", { href: `/items/${u.id}/history` }, u.id)), PI.el("td", {}, u.image_id), PI.el("td", {}, u.stage), PI.el("td", {}, u.problem))));
    document.querySelector("#rejections tbody").replaceChildren(
      ...d.rejections.per_rule.map((r) => row(`${r.rule} ${r.title}`, r.rejections, r.rate)));
    document.getElementById("rejection-total").textContent =
      `${d.rejections.rejected} of ${d.rejections.decisions} audit decisions were rejections.`;
  }

  const form = document.getElementById("import-form");
  function importBody() {
    const f = form;
    const num = (v) => (v === "" ? null : Number(v));
    return {
      run_dir: f.run_dir.value, min_aesthetic: num(f.min_aesthetic.value),
      min_short_edge: num(f.min_short_edge.value), limit: num(f.limit.value),
      draft_model: f.draft_model.value || null,
    };
  }
  // How many images each bound leaves, and in words why none would match.
  document.getElementById("import-preview").addEventListener("click", async () => {
    const out = document.getElementById("import-result");
    const box = document.getElementById("import-preview-result");
    if (!form.run_dir.value) { out.textContent = "Run directory is required."; out.className = "status error"; return; }
    try {
      const p = await PI.api("POST", `/api/projects/${projectId}/imports/preview`, importBody());
      document.getElementById("import-steps").replaceChildren(...p.steps.map((s) =>
        PI.el("li", { class: s.images ? "" : "empty" }, PI.el("b", {}, s.images), ` ${s.label}`)));
      const explanation = document.getElementById("import-explanation");
      explanation.textContent = p.explanation;
      explanation.className = p.matched ? "status done" : "status error";
      box.hidden = false;
      document.getElementById("import-submit").textContent = p.new ? `Import ${p.new} image(s)` : "Import";
      out.textContent = "";
    } catch (e) { box.hidden = true; out.textContent = e.message; out.className = "status error"; }
  });
  form.addEventListener("input", () => { document.getElementById("import-submit").textContent = "Import"; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("import-result");
    try {
      const r = await PI.api("POST", `/api/projects/${projectId}/imports`, importBody());
      out.textContent = `Matched ${r.matched}, imported ${r.imported}, already present ${r.already_present}.`;
      out.className = "status done";
      load();
    } catch (e) { out.textContent = e.message; out.className = "status error"; }
  });
  // The export is a POST (it is logged), so the file arrives by fetch and is saved
  // from a blob URL.
  async function exportAs(format) {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const resp = await fetch(`/api/projects/${projectId}/export?format=${format}`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
    });
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      PI.showBanner(body.message || `Export failed (HTTP ${resp.status})`);
      return;
    }
    const name = /filename="([^"]+)"/.exec(resp.headers.get("content-disposition") || "");
    const url = URL.createObjectURL(await resp.blob());
    const link = PI.el("a", { href: url, download: name ? name[1] : `export.${format}`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  for (const id of ["export-parquet", "export-jsonl"]) {
    const button = document.getElementById(id);
    button.addEventListener("click", () => exportAs(button.dataset.format));
  }
  load().catch((e) => PI.showBanner(e.message));
})();
