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
      row("settled by an admin", a.settled_by_admin, "", ""));
    document.querySelector("#rejections tbody").replaceChildren(
      ...d.rejections.per_rule.map((r) => row(`${r.rule} ${r.title}`, r.rejections, r.rate)));
    document.getElementById("rejection-total").textContent =
      `${d.rejections.rejected} of ${d.rejections.decisions} audit decisions were rejections.`;
  }

  document.getElementById("import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.currentTarget;
    const num = (v) => (v === "" ? null : Number(v));
    const out = document.getElementById("import-result");
    try {
      const r = await PI.api("POST", `/api/projects/${projectId}/imports`, {
        run_dir: f.run_dir.value, min_aesthetic: num(f.min_aesthetic.value),
        min_short_edge: num(f.min_short_edge.value), limit: num(f.limit.value),
        draft_model: f.draft_model.value || null,
      });
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
