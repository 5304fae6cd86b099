from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflows.config import ConfigError, JobConfig, apply_overrides, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def minimal(tmp_path: Path) -> dict:
    images = tmp_path / "images"
    images.mkdir()
    return {
        "run": {"name": "t", "output_dir": str(tmp_path / "runs")},
        "sources": [{"kind": "folder", "path": str(images)}],
        "captioner": {"model": "llava-hf/llava-1.5-7b-hf"},
    }


def test_minimal_config_gets_documented_defaults(tmp_path: Path, minimal: dict) -> None:
    config = load_config(write_config(tmp_path, minimal))
    assert config.sources[0].shard_size == 1000
    assert config.captioner.backend == "vllm"
    assert config.captioner.prompt_text == (
        "Provide a detailed description of the image using approximately 150 words."
    )
    # 150 words * 1.6 tokens/word + 32 margin: far above vLLM's default of 16
    assert config.captioner.max_tokens == 272
    assert config.run.directory == (tmp_path / "runs" / "t").resolve()
    assert config.stats.enabled is True  # every run ends with its statistics report
    assert config.filters.order == []


def test_unknown_key_is_named(tmp_path: Path, minimal: dict) -> None:
    minimal["captioner"]["temprature"] = 0.7
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "captioner.temprature: unknown key" in str(error.value)


def test_wrong_type_is_named(tmp_path: Path, minimal: dict) -> None:
    minimal["sources"][0]["shard_size"] = "many"
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "sources.0.shard_size: Input should be a valid integer" in str(error.value)


def test_missing_model_path_is_named(tmp_path: Path, minimal: dict) -> None:
    minimal["captioner"]["model"] = str(tmp_path / "no-such-model")
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert f"captioner.model: model path does not exist: {tmp_path / 'no-such-model'}" in str(
        error.value
    )


def test_missing_folder_is_named(tmp_path: Path, minimal: dict) -> None:
    minimal["sources"][0]["path"] = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "sources.0.path: folder does not exist" in str(error.value)


def test_duplicate_source_names_are_refused(tmp_path: Path, minimal: dict) -> None:
    minimal["sources"].append(dict(minimal["sources"][0]))
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "sources: source names must be unique (set `name`): ['folder']" in str(error.value)


def test_missing_required_section(tmp_path: Path, minimal: dict) -> None:
    del minimal["captioner"]
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "captioner: required key is missing" in str(error.value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sources", [{"kind": "sa1b"}], "sources.0: set exactly one of `paths` or `links_file`"),
    ],
)
def test_later_stages_are_refused_not_ignored(
    tmp_path: Path, minimal: dict, key: str, value: dict, expected: str
) -> None:
    minimal[key] = value
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert expected in str(error.value)


def test_filters_are_configured_by_name_in_pipeline_order(tmp_path: Path, minimal: dict) -> None:
    minimal["filters"] = {
        "mosaic": {"mode": "score_only"},
        "resolution": {"min_short_edge": 512},
        "dedup": {"mode": "off"},
    }
    config = load_config(write_config(tmp_path, minimal))
    assert config.filters.order == ["resolution", "mosaic"]
    assert config.filters.resolution.min_short_edge == 512
    minimal["filters"] = {"mosaic": {"tile_size": "big", "bogus": 1}, "safety": {}}
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "filters.mosaic.bogus: unknown key" in str(error.value)
    assert "filters.safety: unknown key" in str(error.value)


# what a user types -> the mode; unquoted on/off/yes/no/true/false are YAML 1.1 booleans
TYPED_MODES = [
    ("off", "off"), ("on", "on"), ("Off", "off"), ("ON", "on"), ("no", "off"),
    ("yes", "on"), ("false", "off"), ("true", "on"), ("'off'", "off"), ('"on"', "on"),
    ("score_only", "score_only"), ("Score_Only", "score_only"),
]


@pytest.mark.parametrize(("typed", "mode"), TYPED_MODES)
@pytest.mark.parametrize("filter_name", ["mosaic", "resolution", "dedup", "aesthetic"])
def test_every_filter_mode_accepts_what_a_user_types(
    tmp_path: Path, minimal: dict, typed: str, mode: str, filter_name: str
) -> None:
    on_command_line = load_config(
        write_config(tmp_path, minimal), [f"filters.{filter_name}.mode={typed}"]
    )
    # the same line typed into the YAML file (not through safe_dump, which would quote it)
    text = write_config(tmp_path, minimal).read_text()
    in_file = tmp_path / "typed.yaml"
    in_file.write_text(f"{text}filters:\n  {filter_name}:\n    mode: {typed}\n")
    for config in (on_command_line, load_config(in_file)):
        assert getattr(config.filters, filter_name).mode == mode
        assert config.filters.order == ([] if mode == "off" else [filter_name])


def test_an_unknown_mode_is_named(tmp_path: Path, minimal: dict) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal), ["filters.mosaic.mode=sometimes"])
    assert str(error.value) == (
        "invalid configuration:\n"
        "  filters.mosaic.mode: Input should be 'on', 'off' or 'score_only'"
    )


def test_overrides_parse_yaml_values_and_nest(tmp_path: Path, minimal: dict) -> None:
    config = load_config(
        write_config(tmp_path, minimal),
        [
            f"sources=[{{kind: folder, path: '{tmp_path / 'images'}', shard_size: 7}}]",
            "captioner.sampling.temperature=0.5",
            "captioner.engine_kwargs={dtype: float32}",
            "run.name=other",
        ],
    )
    assert config.sources[0].shard_size == 7
    assert config.captioner.sampling.temperature == 0.5
    assert config.captioner.engine_kwargs == {"dtype": "float32"}
    assert config.run.name == "other"


def test_override_of_unknown_key_is_named(tmp_path: Path, minimal: dict) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal), ["captioner.nope=1"])
    assert "captioner.nope: unknown key" in str(error.value)


def test_override_addresses_list_items(tmp_path: Path, minimal: dict) -> None:
    config = load_config(write_config(tmp_path, minimal), ["sources.0.shard_size=5"])
    assert config.sources[0].shard_size == 5
    with pytest.raises(ConfigError, match="sources.3 is not an item of the list"):
        load_config(write_config(tmp_path, minimal), ["sources.3.shard_size=5"])


def test_override_without_equals_sign() -> None:
    with pytest.raises(ConfigError, match="expected key.path=value"):
        apply_overrides({}, ["captioner.model"])


def test_override_into_a_scalar_is_refused() -> None:
    with pytest.raises(ConfigError, match="run.name is not a section"):
        apply_overrides({"run": {"name": "x"}}, ["run.name.deep=1"])


def test_fingerprint_ignores_sizing_but_not_the_prompt(tmp_path: Path, minimal: dict) -> None:
    base = JobConfig.model_validate(minimal)
    resized = JobConfig.model_validate(
        {**minimal, "captioner": {**minimal["captioner"], "batch_size": 3, "concurrency": 4}}
    )
    reprompted = JobConfig.model_validate(
        {**minimal, "captioner": {**minimal["captioner"], "target_words": 50}}
    )
    assert base.fingerprint() == resized.fingerprint()
    assert base.fingerprint() != reprompted.fingerprint()


def test_demo_config_parses() -> None:
    config = load_config(REPO_ROOT / "configs" / "demo.yaml")
    assert [source.kind for source in config.sources] == ["sample_photos", "demo_laion"]
    assert config.sources[1].download_dir == config.run.directory / "downloads" / "demo_laion"


def test_paper_config_names_its_missing_data_then_parses(tmp_path: Path) -> None:
    path = REPO_ROOT / "configs" / "paraimage_big.yaml"
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).splitlines()[1:] == [
        "  sources.0.metadata: no metadata file matches '/data/laion-aesthetics/*.parquet'",
        "  sources.1.links_file: cannot read links file '/data/sa1b/sa1b_links.txt': "
        "[Errno 2] No such file or directory: '/data/sa1b/sa1b_links.txt'",
    ]
    (tmp_path / "part-0.parquet").write_bytes(b"")
    links = tmp_path / "links.txt"
    links.write_text("file_name\tcdn_link\nsa_000000.tar\thttps://example.org/sa_000000.tar\n")
    config = load_config(path, [
        f"sources.0.metadata=[{tmp_path}/*.parquet]", f"sources.1.links_file={links}",
        f"sources.1.cache_dir={tmp_path / 'tars'}", f"run.output_dir={tmp_path}",
    ])
    laion, sa1b = config.sources
    assert (laion.prefilter.min_aesthetic, laion.prefilter.min_short_edge) == (6.0, 512)
    assert laion.download.disallowed_header_directives == [
        "noai", "noimageai", "noindex", "noimageindex",
    ]
    assert sa1b.kind == "sa1b" and config.filters.mosaic.mode == "on"
    assert config.filters.mosaic.sources == ["sa1b"]  # LAION rows pass it unscored


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"kind": "laion", "metadata": ["/nonexistent/*.parquet"]},
         "sources.0.metadata: no metadata file matches '/nonexistent/*.parquet'"),
        ({"kind": "laion", "metadata": ["http://127.0.0.1:9/m.parquet"],
          "prefilter": {"min_aestetic": 5}},
         "sources.0.prefilter.min_aestetic: unknown key"),
        ({"kind": "laion", "metadata": ["http://127.0.0.1:9/m.parquet"],
          "prefilter": {"max_punsafe": 2}},
         "sources.0.prefilter.max_punsafe: Input should be less than or equal to 1"),
        ({"kind": "url_text", "metadata": ["http://127.0.0.1:9/m.parquet"]},
         "sources.0: url_text needs a `preset` or both `format` and `columns`"),
        ({"kind": "url_text", "preset": "yfcc", "metadata": ["http://127.0.0.1:9/m.csv"]},
         "sources.0.preset: Input should be 'laion', 'coyo', 'datacomp' or 'cc12m'"),
    ],
)
def test_url_text_source_errors_name_the_key(
    tmp_path: Path, minimal: dict, source: dict, expected: str
) -> None:
    minimal["sources"] = [source]
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert expected in str(error.value)


def test_download_dir_defaults_to_the_run_directory(tmp_path: Path, minimal: dict) -> None:
    minimal["sources"] = [{"kind": "laion", "name": "laion-a",
                           "metadata": ["http://127.0.0.1:9/m.parquet"]}]
    config = load_config(write_config(tmp_path, minimal))
    assert config.sources[0].download_dir == config.run.directory / "downloads" / "laion-a"


def test_extra_captioners_are_checked_and_named(tmp_path: Path, minimal: dict) -> None:
    minimal["extra_captioners"] = [{"backend": "transformers", "model": "org/other",
                                    "variants": [{"target_words": 0}]}]
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "extra_captioners.0.variants.0.target_words: Input should be greater than 0" in (
        str(error.value)
    )
    minimal["extra_captioners"] = [{"model": minimal["captioner"]["model"]}]
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, minimal))
    assert "captioners need distinct names (set `name`)" in str(error.value)
    minimal["extra_captioners"][0]["name"] = "same-model-other-prompt"
    config = load_config(write_config(tmp_path, minimal))
    assert config.extra_captioners[0].name == "same-model-other-prompt"
