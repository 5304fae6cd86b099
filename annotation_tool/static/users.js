"use strict";
(() => {
  async function load() {
    const users = await PI.api("GET", "/api/users");
    document.querySelector("#users tbody").replaceChildren(...users.map((u) => PI.el("tr", { dataset: { user: u.username } },
      PI.el("td", {}, u.username), PI.el("td", {}, u.role), PI.el("td", {}, u.is_active ? "yes" : "no"),
      PI.el("td", {}, PI.el("button", { type: "button", onclick: () => toggle(u) }, u.is_active ? "Deactivate" : "Activate")))));
  }
  async function toggle(u) {
    try { await PI.api("PATCH", `/api/users/${u.id}`, { is_active: !u.is_active }); load(); }
    catch (e) { PI.showBanner(e.message); }
  }
  document.getElementById("user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.currentTarget;
    const out = document.getElementById("user-result");
    try {
      const u = await PI.api("POST", "/api/users", { username: f.username.value, password: f.password.value, role: f.role.value });
      out.textContent = `Created ${u.username} (${u.role}).`;
      out.className = "status done";
      f.reset();
      load();
    } catch (e) { out.textContent = e.message; out.className = "status error"; }
  });
  load().catch((e) => PI.showBanner(e.message));
})();
