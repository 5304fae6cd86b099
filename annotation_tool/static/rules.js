// Live description checks: the same rules as validators/description.py, with the
// limits and word lists taken from the server's RULE_CONFIG (page data).
"use strict";
const DescriptionRules = (() => {
  const SENTENCE_END = /[.!?]+(?=\s|$)/g;
  const WORD = /[A-Za-z']+/g;

  function countWords(text) { return text.split(/\s+/).filter(Boolean).length; }

  function splitSentences(text) {
    const out = [];
    let start = 0;
    for (const m of text.matchAll(SENTENCE_END)) {
      const piece = text.slice(start, m.index + m[0].length).trim();
      if (piece) out.push(piece);
      start = m.index + m[0].length;
    }
    const tail = text.slice(start).trim();
    if (tail) out.push(tail);
    return out;
  }

  function check(text, cfg) {
    const v = [];
    const nWords = countWords(text);
    if (nWords < cfg.minWords || nWords > cfg.maxWords) {
      v.push({ rule: "D1", message: `${nWords} words; the description needs ${cfg.minWords}-${cfg.maxWords}.` });
    }
    const sentences = splitSentences(text);
    if (sentences.length < cfg.minSentences || sentences.length > cfg.maxSentences) {
      v.push({ rule: "D2", message: `${sentences.length} sentences; the description needs ${cfg.minSentences}-${cfg.maxSentences}.` });
    }
    const lowered = text.toLowerCase().split(/\s+/).filter(Boolean).join(" ");
    for (const opener of cfg.forbiddenOpeners) {
      if (lowered.startsWith(opener)) { v.push({ rule: "D7", message: `Starts with the forbidden opener '${opener}'.` }); break; }
    }
    if (sentences.length) {
      const first = sentences[0].toLowerCase().match(WORD) || [];
      if (first.length < cfg.minFirstSentenceWords) {
        v.push({ rule: "D3", message: "The first sentence is too short to portray the main subject." });
      } else if (cfg.nonSubjectStarts.includes(first[0])) {
        v.push({ rule: "D3", message: `The first sentence starts with '${first[0]}'; start by naming the main subject.` });
      }
    }
    const words = new Set(text.toLowerCase().match(WORD) || []);
    const found = cfg.speculativeWords.filter((w) => words.has(w)).sort();
    if (found.length) v.push({ rule: "D4", message: `Speculative words: ${found.join(", ")}. Describe only what is seen.` });
    return { violations: v, words: nWords, sentences: sentences.length };
  }

  // Renders the results as a checklist: a line per automatic rule, ticked or not.
  function render(list, result, descriptionRules) {
    const auto = ["D1", "D2", "D3", "D4", "D7"];
    list.replaceChildren();
    for (const rule of descriptionRules.filter((r) => auto.includes(r.id))) {
      const broken = result.violations.filter((x) => x.rule === rule.id);
      list.append(PI.el("li", { class: broken.length ? "bad" : "ok", dataset: { rule: rule.id } },
        `${broken.length ? "✗" : "✓"} ${rule.id} ${rule.title}`,
        broken.length ? PI.el("span", { class: "why" }, ` — ${broken.map((b) => b.message).join(" ")}`) : null));
    }
  }

  return { check, render, countWords, splitSentences };
})();
