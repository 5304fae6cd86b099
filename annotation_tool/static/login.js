"use strict";
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = document.getElementById("login-error");
  error.hidden = true;
  const resp = await fetch("/api/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
    body: JSON.stringify({ username: form.username.value, password: form.password.value }),
  });
  if (resp.ok) {
    window.location.href = form.dataset.next || "/projects";
    return;
  }
  const body = await resp.json().catch(() => ({}));
  error.textContent = body.message || `Login failed (${resp.status})`;
  error.hidden = false;
  // Each login token serves one attempt: fetch the next one.
  const fresh = await fetch("/api/auth/login-token", { credentials: "same-origin" });
  if (fresh.ok) form.dataset.csrf = (await fresh.json()).csrf_token;
});
