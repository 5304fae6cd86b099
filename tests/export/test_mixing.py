"""Caption mixing: weights met on thousands of ids, reproducible and order-free choices,
fallbacks counted, and the achieved mix reported by an export."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest
from export_helpers import SmallRun

from export import CaptionMix, ExportError, export_run
from export.mixing import VARIANT_NAMES, MixTally, first_sentence, variant_texts
from export.options import parse_mix
from paraimage.manifest import record_id

N_IDS = 5000
IDS = [record_id("laion", f"https://example.invalid/{i}.jpg") for i in range(N_IDS)]


def tolerance(weight: float, n: int = N_IDS) -> float:
    """Four standard errors of a share drawn n times: a fair draw stays inside."""
    return 4 * math.sqrt(weight * (1 - weight) / n)


@pytest.mark.parametrize("mix", [
    {"alt_text": 0.05, "caption": 0.95},
    {"alt_text": 0.1, "caption": 0.6, "caption_short": 0.3},
])
def test_weights_are_met_within_four_standard_errors(mix: dict[str, float]) -> None:
    for seed in (0, 1):
        counts = Counter(CaptionMix(mix, seed).draw(i) for i in IDS)
        assert set(counts) == set(mix)
        for name, weight in mix.items():
            assert abs(counts[name] / N_IDS - weight) <= tolerance(weight), (seed, name, counts)


def test_choice_depends_on_id_and_seed_only() -> None:
    mix = CaptionMix({"alt_text": 0.05, "caption": 0.95}, seed=7)
    choices = {i: mix.draw(i) for i in IDS}
    shuffled = IDS[:]
    random.Random(0).shuffle(shuffled)
    assert {i: mix.draw(i) for i in shuffled} == choices
    # the same weights written in another order or scale draw the same
    same = CaptionMix(parse_mix("caption=95,alt_text=5", VARIANT_NAMES), seed=7)
    assert {i: same.draw(i) for i in IDS} == choices
    other_seed = CaptionMix({"alt_text": 0.05, "caption": 0.95}, seed=8)
    changed = sum(other_seed.draw(i) != choices[i] for i in IDS)
    assert 300 <= changed <= 650  # ~2 * 0.05 * 0.95 of ids change with the seed


def test_empty_variant_falls_back_by_weight_and_is_counted() -> None:
    mix = CaptionMix({"alt_text": 0.5, "caption_short": 0.2, "caption": 0.3})
    texts = {"caption": "Long. Text.", "caption_raw": "raw", "caption_short": None,
             "alt_text": None}
    drawn_alt = next(i for i in IDS if mix.draw(i) == "alt_text")
    choice = mix.choose(drawn_alt, texts)
    # alt_text (0.5) is empty, caption (0.3) is next by weight
    assert (choice.chosen, choice.used, choice.text) == ("alt_text", "caption", "Long. Text.")
    only_raw = {"caption": None, "caption_raw": "raw", "caption_short": None, "alt_text": None}
    assert mix.choose(drawn_alt, only_raw).used == "caption_raw"  # outside the mix, last
    nothing = dict.fromkeys(only_raw)
    assert mix.choose(drawn_alt, nothing).used is None
    tally = MixTally()
    for sample_texts in (texts, only_raw, nothing):
        tally.add(mix.choose(drawn_alt, sample_texts))
    assert tally.to_dict() == {
        "drawn": {"alt_text": 3},
        "used": {"caption": 1, "caption_raw": 1},
        "fallbacks": {"alt_text->caption": 1, "alt_text->caption_raw": 1,
                      "alt_text->none": 1},
    }


def test_variant_texts_treat_blank_as_empty() -> None:
    row = {"caption": "A cat sits. It is grey!", "caption_raw": "  ", "alt_text": ""}
    assert variant_texts(row) == {"caption": "A cat sits. It is grey!", "caption_raw": None,
                                  "caption_short": "A cat sits.", "alt_text": None}
    assert first_sentence('He said "stop." Then left.') == 'He said "stop."'
    assert first_sentence("No full stop at all") == "No full stop at all"
    assert first_sentence(None) is None


@pytest.mark.parametrize(("text", "problem"), [
    ("caption=1,long=2", "unknown caption variant 'long'"),
    ("caption=abc", "not a number"),
    ("caption=-1", "finite number >= 0"),
    ("caption=0,alt_text=0", "sum to 0"),
    ("caption=1,caption=2", "given twice"),
    ("caption", "expected name=weight"),
])
def test_bad_mix_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ExportError, match=problem):
        parse_mix(text, VARIANT_NAMES)


def test_parse_mix_normalises_and_drops_zero_weights() -> None:
    assert parse_mix("caption=3, alt_text=1, caption_raw=0", VARIANT_NAMES) == {
        "alt_text": 0.25, "caption": 0.75}


def test_export_reports_the_achieved_mix(small_run: SmallRun, tmp_path: Path) -> None:
    weights = {"alt_text": 0.5, "caption": 0.5}
    summary = export_run(small_run.options(tmp_path / "out", mix=weights, seed=11),
                         progress=False)
    mix = CaptionMix(weights, seed=11)
    by_id = {row["id"]: row for row in small_run.rows}
    drawn = Counter(mix.draw(i) for i in small_run.default_ids)
    no_alt = sum(1 for i in small_run.default_ids
                 if mix.draw(i) == "alt_text" and by_id[i]["alt_text"] is None)
    assert no_alt > 0  # the fixture has rows without alt-text that drew it
    expected = {
        "drawn": dict(sorted(drawn.items())),
        "used": {"alt_text": drawn["alt_text"] - no_alt, "caption": drawn["caption"] + no_alt},
        "fallbacks": {"alt_text->caption": no_alt},
    }
    assert summary.mix.to_dict() == expected
    report = json.loads((tmp_path / "out" / "_export" / "report.json").read_text())
    assert report["mix"]["tally"] == expected
    assert report["mix"]["achieved"] == {
        name: n / 12 for name, n in expected["used"].items()}
    assert f"fallbacks alt_text->caption {no_alt}" in summary.lines()[3]
    card = (tmp_path / "out" / "README.md").read_text()
    assert f"Fallbacks: alt_text->caption {no_alt}." in card


def test_caption_variants_texts_by_label_and_captioner() -> None:
    from export_helpers import MODEL, variant_entry

    row = {"caption": "Main.", "caption_model": MODEL, "caption_variants": [
        variant_entry(MODEL, "120w", MODEL, 120, "Main."),
        variant_entry(MODEL, "20w", MODEL, 20, "Short one."),
        variant_entry("cogvlm", "120w", "THUDM/cogvlm-chat-hf", 120, "Other model."),
        variant_entry(MODEL, "50w", MODEL, 50, "Rejected.", status="rejected"),
    ]}
    names = ["variant:20w", "variant:cogvlm/120w", f"variant:{MODEL}/20w", "variant:50w",
             "variant:cogvlm/20w"]
    texts = variant_texts(row, names)
    assert {name: texts[name] for name in names} == {
        "variant:20w": "Short one.", "variant:cogvlm/120w": "Other model.",
        f"variant:{MODEL}/20w": "Short one.",
        "variant:50w": None,  # rejected by caption QA: not a training text
        "variant:cogvlm/20w": None,
    }
    assert "variant:120w" not in variant_texts(row)  # only the names asked for


def test_export_mixes_caption_variants(small_run: SmallRun, tmp_path: Path) -> None:
    import webdataset as wds

    weights = {"caption": 0.4, "variant:20w": 0.3, "variant:cogvlm/120w": 0.3}
    summary = export_run(small_run.options(tmp_path / "out", mix=weights, seed=2),
                         progress=False)
    by_id = {row["id"]: row for row in small_run.rows}
    mix = CaptionMix(weights, seed=2)
    expected_text, expected_used = {}, Counter()
    for sample_id in small_run.default_ids:
        entries = {(e["captioner"], e["variant"]): e for e in by_id[sample_id]["caption_variants"]}
        drawn = mix.draw(sample_id)
        key = {"variant:20w": (by_id[sample_id]["caption_model"], "20w"),
               "variant:cogvlm/120w": ("cogvlm", "120w")}.get(drawn)
        entry = entries.get(key) if key else None
        if drawn == "caption" or entry is None or entry["status"] != "ok":
            used, text = "caption", by_id[sample_id]["caption"]  # the fallback by weight
        else:
            used, text = drawn, entry["caption"]
        expected_text[sample_id] = (used, text)
        expected_used[used] += 1
    tars = sorted(str(p) for p in (tmp_path / "out").glob("*.tar"))
    for sample in wds.WebDataset(tars, shardshuffle=False):
        meta = json.loads(sample["json"])
        assert (meta["text_variant"], sample["txt"].decode()) == expected_text[sample["__key__"]]
        assert [(e["captioner"], e["variant"], e["caption"], e["params"]) for e in
                meta["caption_variants"]] == [
            (e["captioner"], e["variant"], e["caption"], json.loads(e["params"]))
            for e in by_id[sample["__key__"]]["caption_variants"]]
    assert summary.mix.used == expected_used
    assert set(expected_used) == set(weights)  # every variant was written at least once
    assert sum(summary.mix.fallbacks.values()) == expected_used["caption"] - summary.mix.drawn[
        "caption"]


def test_mix_naming_a_variant_no_row_has_is_refused(small_run: SmallRun,
                                                    tmp_path: Path) -> None:
    from export_helpers import MODEL

    with pytest.raises(ExportError) as error:
        export_run(small_run.options(tmp_path / "o", mix={"caption": 0.5, "variant:60w": 0.5}),
                   progress=False)
    assert str(error.value) == (
        "--mix: variant:60w is in no selected row's caption_variants; they hold: "
        f"variant:120w, variant:20w, variant:cogvlm/120w, variant:{MODEL}/120w, "
        f"variant:{MODEL}/20w"
    )
    assert not (tmp_path / "o").exists()
