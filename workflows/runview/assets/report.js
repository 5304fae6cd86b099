// Filters of the report's examples: plain DOM, no library, no request.
(function () {
  "use strict";
  var names = ["source", "captioner", "flag", "reason"];
  function select(name) { return document.getElementById("f-" + name); }
  function matches(card, want) {
    if (want.source && card.dataset.source !== want.source) { return false; }
    if (want.reason && card.dataset.reason !== want.reason) { return false; }
    if (want.captioner && JSON.parse(card.dataset.captioners).indexOf(want.captioner) < 0) { return false; }
    if (want.flag && JSON.parse(card.dataset.flags).indexOf(want.flag) < 0) { return false; }
    return true;
  }
  function apply() {
    var want = {};
    names.forEach(function (name) { want[name] = select(name).value; });
    var cards = document.querySelectorAll(".card");
    var shown = 0;
    cards.forEach(function (card) {
      var ok = matches(card, want);
      card.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var filtered = names.some(function (name) { return want[name] !== ""; });
    document.querySelectorAll("section.group").forEach(function (group) {
      // a reason's or error kind's section without a matching example folds away
      group.hidden = filtered && group.querySelector(".card:not([hidden])") === null;
    });
    document.querySelectorAll(".cards").forEach(function (group) {
      var none = group.nextElementSibling;
      if (none && none.classList.contains("none")) {
        none.hidden = group.children.length === 0 || group.querySelector(".card:not([hidden])") !== null;
      }
    });
    document.getElementById("shown").textContent = shown + " of " + cards.length + " examples shown";
  }
  names.forEach(function (name) { select(name).addEventListener("change", apply); });
  document.getElementById("f-reset").addEventListener("click", function () {
    names.forEach(function (name) { select(name).value = ""; });
    apply();
  });
  document.querySelectorAll("[data-set-flag]").forEach(function (link) {
    link.addEventListener("click", function () {
      names.forEach(function (name) { select(name).value = ""; });
      select("flag").value = link.dataset.setFlag;
      apply();
    });
  });
  apply();
}());
