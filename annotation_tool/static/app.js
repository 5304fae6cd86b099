// Shared browser code: the JSON API client (CSRF header, session recovery), element
// builder (text only: user text is never parsed as HTML), claim keeper, image viewer.
"use strict";
const PI = (() => {
  const csrfMeta = () => document.querySelector('meta[name="csrf-token"]');

  // Words for a reply without a message of its own (a proxy's page, a crash).
  const STATUS_WORDS = {
    400: "The server could not read the request.",
    404: "Not found (or not yours to see).",
    413: "The request is too large.",
    422: "Some fields are not valid.",
    429: "Too many attempts; wait a moment and try again.",
    500: "The server failed; try again, and tell an admin if it goes on.",
    502: "The server cannot be reached right now; try again in a moment.",
    503: "The server is busy; try again in a moment.",
  };
  class ApiError extends Error {
    constructor(status, body) {
      super((body && typeof body.message === "string" && body.message.trim() && !/^\s*</.test(body.message) && body.message)
        || STATUS_WORDS[status] || `The server refused the request (status ${status}).`);
      this.status = status;
      this.body = body || {};
    }
  }

  async function rawFetch(method, url, body, opts) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrfMeta().content;
    let resp;
    try {
      resp = await fetch(url, {
        method, headers, credentials: "same-origin", keepalive: !!opts.keepalive,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, { error: "network", message: "The server cannot be reached; retrying." });
    }
    if (resp.status === 204) return null;
    const type = resp.headers.get("content-type") || "";
    const data = type.includes("json") ? await resp.json() : await resp.text();
    if (!resp.ok) throw new ApiError(resp.status, typeof data === "object" ? data : { message: data });
    return data;
  }

  // After a login in another tab the session (and its CSRF token) is new: pick it up.
  async function refreshSession() {
    try {
      const me = await rawFetch("GET", "/api/auth/me", undefined, {});
      csrfMeta().content = me.csrf_token;
      return true;
    } catch (e) {
      return false;
    }
  }

  async function api(method, url, body, opts = {}) {
    try {
      const data = await rawFetch(method, url, body, opts);
      sessionBack();
      return data;
    } catch (e) {
      const sessionProblem = e.status === 401 || (e.status === 403 && e.body.error === "csrf_failed");
      if (sessionProblem && (await refreshSession())) {
        const data = await rawFetch(method, url, body, opts);
        sessionBack();
        return data;
      }
      if (e.status === 401) {
        showBanner("Your session has expired. Log in again in a new tab (/login); nothing you typed is lost, and it is saved when you are back.", "warn", true);
        document.getElementById("banner").dataset.kind = "session";
      }
      throw e;
    }
  }

  // A request went through: a "session expired" banner is out of date now.
  function sessionBack() {
    const banner = document.getElementById("banner");
    if (banner && !banner.hidden && banner.dataset.kind === "session") {
      banner.hidden = true;
      delete banner.dataset.kind;
    }
  }

  function showBanner(message, kind = "error", withLogin = false) {
    const banner = document.getElementById("banner");
    banner.replaceChildren(el("span", {}, message));
    if (withLogin) banner.append(" ", el("a", { href: "/login", target: "_blank", id: "relogin" }, "Log in"));
    banner.className = `banner ${kind}`;
    delete banner.dataset.kind;
    banner.hidden = false;
  }
  function hideBanner() { document.getElementById("banner").hidden = true; }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, "");
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function pageData() {
    const node = document.getElementById("page-data");
    return node ? JSON.parse(node.textContent) : {};
  }

  // Keeps the claim on one item alive; the server frees it if the beats stop.
  class ClaimKeeper {
    constructor(ttlS) { this.ttlS = ttlS; this.itemId = null; this.timer = null; this.onLost = null; }
    hold(itemId) {
      this.stop();
      this.itemId = itemId;
      const every = Math.max(2, this.ttlS / 4) * 1000;
      this.timer = setInterval(() => this.beat(), every);
    }
    async beat() {
      if (this.itemId === null) return;
      try {
        await api("POST", `/api/items/${this.itemId}/heartbeat`);
      } catch (e) {
        if (e.status === 409 && this.onLost) this.onLost(e);
      }
    }
    stop() { if (this.timer) clearInterval(this.timer); this.timer = null; }
    release() {
      const id = this.itemId;
      this.stop();
      this.itemId = null;
      if (id !== null) return api("DELETE", `/api/items/${id}/lock`, undefined, { keepalive: true }).catch(() => {});
      return Promise.resolve();
    }
  }

  // Full image with zoom (wheel, + / - / 0) and pan (drag).
  class ImageViewer {
    constructor(container) {
      this.container = container;
      this.img = el("img", { alt: "image under review", draggable: "false", id: "full-image" });
      container.replaceChildren(this.img);
      this.scale = 1; this.x = 0; this.y = 0;
      container.addEventListener("wheel", (e) => { e.preventDefault(); this.zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2); }, { passive: false });
      let drag = null;
      container.addEventListener("mousedown", (e) => { drag = { x: e.clientX - this.x, y: e.clientY - this.y }; });
      window.addEventListener("mouseup", () => { drag = null; });
      window.addEventListener("mousemove", (e) => { if (drag) { this.x = e.clientX - drag.x; this.y = e.clientY - drag.y; this.apply(); } });
      container.addEventListener("dblclick", () => this.reset());
    }
    show(itemId) {
      this.reset();
      this.problem = null;
      this.container.classList.remove("broken");
      const note = this.container.querySelector(".image-problem");
      if (note) note.remove();
      const url = `/api/items/${itemId}/image`;
      this.img.onerror = () => this.explain(itemId, url);
      this.img.src = url;
    }
    // The image did not load: ask the server why and say it where the image would be.
    async explain(itemId, url) {
      let why = "the image could not be loaded";
      try {
        const resp = await fetch(url, { credentials: "same-origin" });
        const body = await resp.json();
        why = body.reason || body.message || why;
      } catch (e) { /* keep the generic reason */ }
      this.problem = why;
      this.container.classList.add("broken");
      this.container.append(el("p", { class: "image-problem", id: "image-problem" }, `This image cannot be read: ${why}.`));
      if (this.onProblem) this.onProblem(itemId, why);
    }
    clear() { this.img.removeAttribute("src"); this.img.onerror = null; }
    zoom(f) { this.scale = Math.min(16, Math.max(0.25, this.scale * f)); this.apply(); }
    reset() { this.scale = 1; this.x = 0; this.y = 0; this.apply(); }
    apply() { this.img.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.scale})`; }
    // Plain + / - / 0 outside text fields; Alt with the same keys anywhere, the editor
    // included. e.code, not e.key: on macOS Alt turns "=" into "≠" and "0" into "º".
    handleKey(e) {
      const plain = !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e);
      const withAlt = e.altKey && !e.ctrlKey && !e.metaKey;
      if (!plain && !withAlt) return false;
      const code = e.code;
      if ((plain && (e.key === "+" || e.key === "=")) || (withAlt && (code === "Equal" || code === "NumpadAdd"))) { this.zoom(1.25); return true; }
      if ((plain && e.key === "-") || (withAlt && (code === "Minus" || code === "NumpadSubtract"))) { this.zoom(0.8); return true; }
      if ((plain && e.key === "0") || (withAlt && (code === "Digit0" || code === "Numpad0"))) { this.reset(); return true; }
      return false;
    }
  }

  function typing(e) {
    const t = e.target;
    return t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "radio"));
  }

  function itemMeta(item) {
    const parts = [`item ${item.id}`, item.source_key || item.image_id];
    if (item.width) parts.push(`${item.width}×${item.height}`);
    if (item.aesthetic_score !== null) parts.push(`aesthetic ${Number(item.aesthetic_score).toFixed(2)}`);
    return parts.join(" · ");
  }

  function setStatus(text, kind = "") {
    const node = document.getElementById("status");
    if (node) { node.textContent = text; node.className = `status ${kind}`; }
  }

  // What was last done stays on screen (the status line is reused for the next item).
  function lastAction(text) {
    const node = document.getElementById("last-action");
    if (!node) return;
    const at = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    node.replaceChildren(el("span", { class: "tick" }, "✓ "), `${text} (${at})`);
    node.hidden = false;
  }

  // Done today, left in my queue, my pace: on every task page, after every claim.
  async function refreshProgress(projectId, task) {
    const node = document.getElementById("progress");
    if (!node) return;
    try {
      const p = await api("GET", `/api/projects/${projectId}/progress?task=${encodeURIComponent(task)}`);
      const parts = [
        el("span", { "data-figure": "done" }, el("b", {}, p.done_today), " done today"),
        el("span", { "data-figure": "left" }, el("b", {}, p.left), " left in the queue"),
        el("span", { "data-figure": "rate" }, el("b", {}, p.per_hour === null ? "–" : p.per_hour), " per hour"),
      ];
      if (p.skipped_today) parts.push(el("span", { "data-figure": "skipped" }, el("b", {}, p.skipped_today), " skipped"));
      node.replaceChildren(...parts);
    } catch (e) { /* progress is a help, never in the way */ }
  }

  // Skip with a reason: the buttons in #skip-bar post the skip for the current item,
  // then the page moves on. ``current()`` gives the item on screen.
  // ``before()`` runs first (a page stops its autosave there, so no save can take the
  // item back after it is given away).
  function setupSkip(current, after, before = async () => {}, failed = () => {}) {
    const bar = document.getElementById("skip-bar");
    if (!bar) return null;
    const comment = bar.querySelector("#skip-comment");
    async function skip(reason) {
      const item = current();
      if (!item) return;
      try {
        await before();
        const out = await api("POST", `/api/items/${item.id}/skips`, { reason, comment: comment ? comment.value : "" });
        if (comment) comment.value = "";
        const label = { unreadable: "reported as unreadable", not_a_5: "skipped as not a 5", unsure: "skipped (unsure)" }[reason];
        lastAction(out.image_problem
          ? `Item ${item.id} reported: the image cannot be read (${out.image_problem}); it is out of every queue.`
          : `Item ${item.id} ${label}; it goes to someone else.`);
        await after(out);
      } catch (e) { failed(); setStatus(e.message, "error"); }
    }
    bar.querySelectorAll("button[data-reason]").forEach((b) => b.addEventListener("click", () => skip(b.dataset.reason)));
    return skip;
  }

  // Ctrl on Windows and Linux is Cmd on macOS.
  function mod(e) { return e.ctrlKey || e.metaKey; }

  // Text kept in this browser is keyed by user, so on a shared browser nobody else
  // gets it restored, and it is removed at logout.
  const DRAFT_PREFIX = "pi-description-";
  function userId() {
    const who = document.getElementById("who");
    return who ? who.dataset.user : "";
  }
  function draftKey(itemId) { return `${DRAFT_PREFIX}${userId()}-${itemId}`; }
  function clearDrafts() {
    const mine = `${DRAFT_PREFIX}${userId()}-`;
    for (const k of Object.keys(localStorage)) {
      // This user's, and those of the old unkeyed form ("pi-description-<item>").
      if (k.startsWith(mine) || /^pi-description-\d+$/.test(k)) localStorage.removeItem(k);
    }
  }
  const beforeLogout = [];
  let loggingOut = false;
  function onLogout(hook) { beforeLogout.push(hook); }
  function isLoggingOut() { return loggingOut; }

  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (logout) logout.addEventListener("click", async () => {
      // Pages save what they can first (bounded, so a dead network cannot trap the user).
      const wait = new Promise((resolve) => setTimeout(resolve, 3000));
      await Promise.race([Promise.allSettled(beforeLogout.map((hook) => hook())), wait]);
      loggingOut = true;
      clearDrafts();
      try { await api("POST", "/api/auth/logout"); } finally { window.location.href = "/login"; }
    });
  });

  return { api, ApiError, el, pageData, ClaimKeeper, ImageViewer, showBanner, hideBanner, typing, itemMeta, setStatus, draftKey, onLogout, isLoggingOut, lastAction, refreshProgress, setupSkip, mod };
})();
