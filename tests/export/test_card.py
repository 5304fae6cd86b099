"""The dataset card: written from the run's config, record, funnel and statistics, with
the export's counts and the sources' terms; its front matter makes the folder loadable."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
from export_helpers import MODEL, PROMPT, TARGET_WORDS, SmallRun, build_small_run

from export import SAMPLE_SCHEMA, export_run


def test_card_of_a_run_with_reports(small_run: SmallRun, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_run(small_run.options(out, shard_samples=5, mix={"alt_text": 0.05, "caption": 0.95}),
               progress=False)
    card = (out / "README.md").read_text()
    lines = card.splitlines()
    # tars: no hub config (datasets' webdataset loader wants one layout and guesses types)
    assert lines[:9] == [
        "---", "pretty_name: small-0123456789ab", "license: other", "task_categories:",
        "- text-to-image", "- image-to-text", "size_categories:", "- n<1K", "---",
    ]
    assert "    image_bytes = sample.get(\"jpg\") or sample.get(\"png\")" in lines
    assert "Images keep their original formats (jpg 11, png 1)." in card
    assert "# small-0123456789ab: images with long captions" in lines
    # what was done
    assert ("| laion | laion | /data/laion-aesthetics/*.parquet | 12 | 10 | 9 |" in lines)
    assert "| sa1b | sa1b | /data/sa1b/sa_000000.tar | 3 | 3 | 3 |" in lines
    assert ("* prefilter of laion (on metadata, before download): min_aesthetic=5.0, "
            "min_short_edge=16") in lines
    assert "* resolution (rejects): min_short_edge=16, max_aspect_ratio=3.0" in lines
    assert "* mosaic (scores only, rejects nothing): threshold=1.0, pixelation=True, " \
           "blur=True" in lines
    assert "* dedup (rejects): max_hamming=6" in lines
    assert "* aesthetic (rejects): threshold=5.0, clip_model=ViT-L-14, recompute=False" in lines
    assert (f'* prompt: "{PROMPT.format(n_words=TARGET_WORDS)}" (length target '
            f"{TARGET_WORDS} words)") in lines
    assert "* caption QA policies: refusal: reject" in lines
    prompt = PROMPT.format(n_words=TARGET_WORDS)
    assert ("| cogvlm | 120w | THUDM/cogvlm-chat-hf | 120 | " + prompt
            + " | 6/6 | 4.0 | `variant:cogvlm/120w` |") in lines
    assert (f"| {MODEL} | 20w | {MODEL} | 20 | " + PROMPT.format(n_words=20)
            + f" | 11/12 | 4.0 | `variant:{MODEL}/20w`, `variant:20w` |") in lines
    # the funnel, the statistics tables and plots of the run
    assert "| 2 | resolution | 14 | 1 | 13 | 92.9% | 1 |" in lines
    assert "### Rows per source, status and reason" in lines
    for heading in ("### Dataset (ParaDiffusion Table 1 style)",
                    "### Vocabulary (ELLA Tables 1-2 style)",
                    "### Length buckets (share of texts, words)"):
        assert heading in lines
    assert "### Tables" not in lines and "Generated " not in card
    assert "\n\n\n" not in card and card.endswith(".\n")  # one blank line between blocks
    report = json.loads((out / "_export" / "report.json").read_text())
    total = sum(shard["bytes"] for shard in report["shards"])
    assert 1_000 < total < 1_000_000  # the sample shards: kilobytes
    assert f"| bytes | {total:,} ({total / 1000:.1f}KB) |" in lines
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["captioners.png", "length_distribution.png", "top_nouns.png"]
    for name in plots:
        assert (out / "plots" / name).read_bytes() == (
            small_run.root / "stats" / "plots" / name).read_bytes()
        assert f"![{name.removesuffix('.png')}](plots/{name})" in lines
    # schema, counts, terms, provenance
    for field in SAMPLE_SCHEMA:
        assert any(line.startswith(f"| `{field.name}` | ") for line in lines)
    assert any(line.startswith("| `caption_variants` | list<struct> | every caption")
               for line in lines)
    assert "| exported samples | 12 |" in lines
    assert "| shards | 3 |" in lines
    assert any(line.startswith("| laion | LAION-Aesthetics | ") and "CC-BY 4.0" in line
               and "own copyright" in line for line in lines)
    assert any(line.startswith("| sa1b | SA-1B | ") and "SA-1B Dataset Research License"
               in line for line in lines)
    assert "code `abc123`" in card
    assert "--mix alt_text=0.05,caption=0.95" in card
    assert (out / "_export" / "run_config.yaml").read_bytes() == (
        small_run.root / "config.yaml").read_bytes()


def test_card_front_matter_lets_datasets_load_the_folder(small_run: SmallRun,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_run(small_run.options(out, format="parquet", shard_samples=5), progress=False)
    card = (out / "README.md").read_text()
    assert 'configs:\n- config_name: default\n  data_files:\n  - split: train\n' \
           '    path: "shard-*.parquet"\n---' in card
    loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    by_id = {row["id"]: row for row in small_run.rows}
    assert list(loaded["id"]) == small_run.default_ids
    assert list(loaded["text"]) == [by_id[i]["caption"] for i in small_run.default_ids]
    assert [len(v) for v in loaded["caption_variants"]] == [
        len(by_id[i]["caption_variants"]) for i in small_run.default_ids]


def test_card_of_a_run_without_reports(tmp_path: Path) -> None:
    run = build_small_run(tmp_path / "run")
    out = tmp_path / "out"
    export_run(run.options(out, format="parquet"), progress=False)
    card = (out / "README.md").read_text()
    assert '    path: "shard-*.parquet"' in card
    assert "The run has no filter funnel (`funnel/funnel.md`): it ran no filters." in card
    assert (f"The run has no statistics (`stats/report.md`); run `paraimage stats "
            f"{run.root.resolve()}` and export again to add them here.") in card
    assert not (out / "plots").exists()
    assert "row groups of 100 rows" in card


def test_card_of_a_run_from_outside_a_git_checkout(tmp_path: Path) -> None:
    run = build_small_run(tmp_path / "run")
    record = json.loads((run.root / "run.json").read_text())
    record["invocations"][0]["git_commit"] = None
    (run.root / "run.json").write_text(json.dumps(record))
    out = tmp_path / "out"
    export_run(run.options(out, format="parquet"), progress=False)
    assert "started 2026-01-02T03:04:05+00:00, code `no git checkout`" in (
        out / "README.md").read_text()
