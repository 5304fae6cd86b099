"use strict";
(async () => {
  const projectId = document.getElementById("mine").dataset.project;
  const items = await PI.api("GET", `/api/projects/${projectId}/my-items`);
  document.querySelector("#my-items tbody").replaceChildren(...items.map((i) => PI.el("tr", {},
    PI.el("td", {}, PI.el("img", { class: "mini", alt: "", src: `/api/items/${i.id}/thumbnail` })),
    PI.el("td", {}, i.image_id), PI.el("td", {}, i.stage), PI.el("td", {}, i.my_score ?? ""),
    PI.el("td", {}, i.final_score ?? ""), PI.el("td", {}, i.description_version),
    PI.el("td", {}, PI.el("a", { href: `/items/${i.id}/history` }, "history")))));
})();
