"""One registration per filter: the config, the order, the chain, the funnel and the
card follow from it, and a filter added as one module (filters/README.md's example,
run as written) is picked up with no other edit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from filters.base import FilterConfig
from filters.registry import FilterKind, filter_kinds, register_filter
from filters.resolution import ResolutionFilter, ResolutionFilterConfig

REPO = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    """The Python block of the README's "Adding a filter" section, as a newcomer reads it."""
    readme = (REPO / "filters" / "README.md").read_text()
    section = readme.split("## Adding a filter", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_registered_filters_in_the_order_rows_meet_them() -> None:
    assert [(k.order, k.name, k.batched) for k in filter_kinds()] == [
        (10, "resolution", False), (20, "watermark", False), (30, "nsfw", False),
        (40, "mosaic", False), (50, "dedup", False), (60, "aesthetic", True),
    ]


def test_a_second_filter_on_a_taken_order_or_name_is_refused() -> None:
    class Other(ResolutionFilter):
        name = "other"

    with pytest.raises(ValueError, match="^filter 'other' takes order 10, which 'resolution' "
                                         "holds$"):
        register_filter(FilterKind(ResolutionFilterConfig, Other, order=10))

    class Again(ResolutionFilter):
        pass

    with pytest.raises(ValueError, match="^filter 'resolution' is registered twice "):
        register_filter(FilterKind(ResolutionFilterConfig, Again, order=11))


def test_a_filter_for_some_sources_passes_the_others_unscored() -> None:
    config = ResolutionFilterConfig(min_short_edge=512, sources=["sa1b"])
    only_sa1b = ResolutionFilter(config)
    small = Image.new("RGB", (100, 80))
    laion_row = {"source": "laion"}
    assert only_sa1b.apply(laion_row, small) is None
    assert laion_row == {"source": "laion"}  # not scored: no short_edge written
    sa1b_row = {"source": "sa1b"}
    assert only_sa1b.apply(sa1b_row, small) == "resolution_short_edge"
    assert sa1b_row["short_edge"] == 80
    assert dict(only_sa1b.stats) == {"unscored": 1, "total": 1, "dropped": 1,
                                     "dropped_resolution_short_edge": 1}


def test_filter_sources_must_name_configured_sources(tmp_path: Path) -> None:
    from workflows.config import ConfigError, load_config

    images = tmp_path / "images"
    images.mkdir()
    path = tmp_path / "job.yaml"
    path.write_text(json.dumps({
        "run": {"name": "t", "output_dir": str(tmp_path / "runs")},
        "sources": [{"kind": "folder", "name": "mine", "path": str(images)}],
        "captioner": {"model": "llava-hf/llava-1.5-7b-hf"},
        "filters": {"mosaic": {"sources": ["sa1b", "mine"]}},
    }))
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value) == (
        "invalid configuration:\n  filters.mosaic.sources: no source is named 'sa1b'; "
        "the sources are 'mine'"
    )


def test_the_readme_filter_is_picked_up_from_its_module_alone(tmp_path: Path) -> None:
    # In a fresh interpreter, the README's module is dropped beside the others (the
    # package path gains the folder it lies in); nothing else is edited or registered.
    (tmp_path / "flat.py").write_text(readme_example())
    images = tmp_path / "images"
    images.mkdir()
    probe = f"""
import json, sys
import filters
filters.__path__.append({str(tmp_path)!r})
from PIL import Image
from export.card import _filters
from export.run_info import RunInfo
from filters.funnel import registered_score_columns
from paraimage.manifest import ManifestRowError, to_table
from workflows.config import JobConfig

config = JobConfig.model_validate({{
    "run": {{"name": "t", "output_dir": {str(tmp_path / "runs")!r}}},
    "sources": [{{"kind": "folder", "path": {str(images)!r}}}],
    "captioner": {{"model": "llava-hf/llava-1.5-7b-hf"}},
    "filters": {{"resolution": {{}}, "flat": {{"min_stddev": 5}}, "mosaic": {{}}}},
}})
from filters.registry import build_filter
chain = [build_filter(name, config.filters.enabled(name)) for name in config.filters.cpu_order]
row = {{"id": "x"}}
reason = chain[1].apply(row, Image.new("RGB", (600, 600), (90, 90, 90)))
try:
    to_table([row])
    refused = None
except ManifestRowError as exc:
    refused = str(exc)
card = _filters(RunInfo(root={str(tmp_path)!r}, config=config.model_dump(mode="json")))
print(json.dumps({{
    "order": config.filters.order,
    "funnel": config.funnel_order,
    "chain": [type(f).__name__ for f in chain],
    "reason": reason, "row": row, "refused": refused,
    "score_columns": registered_score_columns()["flat"],
    "card": card["filters"],
}}))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "order": ["resolution", "flat", "mosaic"],
        "funnel": ["decode", "resolution", "flat", "mosaic", "caption"],
        "chain": ["ResolutionFilter", "FlatFilter", "MosaicFilter"],
        "reason": "flat_image",
        "row": {"id": "x", "luma_stddev": 0.0},
        "refused": "columns not in the manifest schema: ['luma_stddev']",
        "score_columns": ["luma_stddev"],
        "card": [["resolution", "rejects", "min_short_edge=512, max_aspect_ratio=3.0"],
                 ["flat", "rejects", "min_stddev=5.0"],
                 ["mosaic", "rejects",
                  "detector=learned, threshold=1.0, pixelation=True, blur=True"]],
    }


def test_a_filter_config_without_the_base_fields_is_not_a_filter_config() -> None:
    # every filter config derives FilterConfig: mode and sources mean the same everywhere
    for kind in filter_kinds():
        assert issubclass(kind.config, FilterConfig), kind.name
        assert {"mode", "sources"} <= set(kind.config.model_fields), kind.name
