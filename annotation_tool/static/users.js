"use strict";
(() => {
  async function load() {
    const users = await PI.api("GET", "/api/users");
    document.querySelector("#users tbody").replaceChildren(...users.map((u) => {
      const role = PI.el("select", { class: "role", "aria-label": `role of ${u.username}` },
        ["annotator", "reviewer", "admin"].map((r) => PI.el("option", { value: r, selected: r === u.role }, r)));
      role.addEventListener("change", () => change(u, { role: role.value }, `${u.username} is now ${role.value}.`));
      const password = PI.el("input", { type: "password", class: "new-password", minlength: 8, placeholder: "new password", "aria-label": `new password for ${u.username}` });
      const reset = PI.el("button", { type: "button", class: "reset-password" }, "Reset password");
      reset.addEventListener("click", () => change(u, { password: password.value }, `Password of ${u.username} reset; their other sessions have ended.`));
      return PI.el("tr", { dataset: { user: u.username } },
        PI.el("td", {}, u.username), PI.el("td", {}, role), PI.el("td", {}, u.is_active ? "yes" : "no"),
        PI.el("td", {}, PI.el("button", { type: "button", class: "toggle", onclick: () => change(u, { is_active: !u.is_active }, `${u.username} ${u.is_active ? "deactivated" : "activated"}.`) }, u.is_active ? "Deactivate" : "Activate"),
          " ", password, " ", reset));
    }));
  }
  // One PATCH per change; the result (or the reason it was refused) in words.
  async function change(u, body, done) {
    const out = document.getElementById("users-result");
    try {
      await PI.api("PATCH", `/api/users/${u.id}`, body);
      out.textContent = done; out.className = "status done";
    } catch (e) { out.textContent = e.message; out.className = "status error"; }
    load();
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
