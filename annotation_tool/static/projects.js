"use strict";
const projectForm = document.getElementById("project-form");
if (projectForm) {
  projectForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.currentTarget;
    try {
      const project = await PI.api("POST", "/api/projects", {
        name: f.name.value, kind: f.kind.value, use_drafts: f.use_drafts.checked,
        blind_inspection: f.blind_inspection.checked,
        assessors_per_item: Number(f.assessors_per_item.value),
      });
      window.location.href = `/projects/${project.id}`;
    } catch (e) {
      PI.showBanner(e.message);
    }
  });
}
