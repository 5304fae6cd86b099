"""The job configuration: one YAML file, validated before any work starts.

Each stage owns its config model (in its own package); this module composes them,
applies ``--set key.path=value`` overrides, and turns every problem into a
``ConfigError`` whose message names the key path, which the CLI reports with exit 2.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

import demo  # noqa: F401  (the demo's sources register themselves)
from captioners.config import CAPTIONER_BACKENDS, AnyCaptionerConfig
from captioners.registry import CAPTION_STEP
from curation.base import DECODE_STEP
from curation.probe import DEFAULT_MAX_PIXELS
from curation.registry import downloads, source_config_union, source_kind
from filters.base import BaseImageFilter
from filters.registry import build_filter, filter_kinds
from paraimage.settings import ConfigError, RayConfig, RunConfig, Strict

# One entry of ``sources:``, chosen by ``kind`` among the registered source kinds.
SourceConfig = source_config_union()


class DecodeConfig(Strict):
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0, description="decompression-bomb limit")


class FiltersBase(Strict):
    """Image filters; a filter runs when its key is present and its mode is not off.
    Rows meet them in their registered order (``filters/registry.py``): the CPU chain
    (resolution, watermark, nsfw, mosaic, dedup's perceptual hash; duplicates are
    decided over the whole run at the end), then the aesthetic actor stage."""

    aesthetic_concurrency: int = Field(1, gt=0, description="aesthetic actors")
    aesthetic_num_gpus: float = Field(0.0, ge=0, description="GPUs per aesthetic actor")

    def enabled(self, name: str) -> Any:
        config = getattr(self, name)
        return config if config is not None and config.mode != "off" else None

    @property
    def order(self) -> list[str]:
        """All enabled filters, in the order rows meet them (for the funnel report)."""
        return [kind.name for kind in filter_kinds() if self.enabled(kind.name)]

    @property
    def cpu_order(self) -> list[str]:
        """The enabled filters of the CPU chain, in order."""
        return [kind.name for kind in filter_kinds()
                if not kind.batched and self.enabled(kind.name)]

    def cpu_chain(self) -> list[BaseImageFilter]:
        """The CPU chain's filters, built from their configs, in order."""
        return [build_filter(name, self.enabled(name)) for name in self.cpu_order]


# ``filters:``: a key per registered filter, none on by default.
FiltersConfig = create_model(
    "FiltersConfig",
    __base__=FiltersBase,
    **{kind.name: (kind.config | None, None) for kind in filter_kinds()},
)


class StatsConfig(Strict):
    """Per-caption text statistics (stats/), as a stage after captioning, and the
    run's tables, plots and report.md at the end of every run."""

    enabled: bool = True
    concurrency: int = Field(1, gt=0, description="spaCy actors")
    num_cpus: float = Field(1.0, gt=0, description="CPUs per spaCy actor")
    batch_size: int = Field(64, gt=0, description="rows per batch")


class JobConfig(Strict):
    run: RunConfig
    sources: list[SourceConfig] = Field(min_length=1)
    decode: DecodeConfig = DecodeConfig()
    filters: FiltersConfig = FiltersConfig()
    captioner: AnyCaptionerConfig
    extra_captioners: list[AnyCaptionerConfig] = Field(
        default_factory=list,
        description="other models over the same images (Table 11-style comparisons); "
        "their captions go to caption_variants only",
    )
    stats: StatsConfig = StatsConfig()
    ray: RayConfig = RayConfig()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Any]) -> list[Any]:
        names = [source.source_name for source in sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique (set `name`): {duplicates}")
        return sources

    @model_validator(mode="after")
    def _captioner_names_unique(self) -> JobConfig:
        names = [c.name or c.model for c in [self.captioner, *self.extra_captioners]]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"captioners need distinct names (set `name`): {duplicates}")
        return self

    @model_validator(mode="after")
    def _filter_sources_exist(self) -> JobConfig:
        names = {source.source_name for source in self.sources}
        for kind in filter_kinds():
            config = getattr(self.filters, kind.name)
            unknown = sorted(set(config.sources or ()) - names) if config else []
            if unknown:
                raise ValueError(f"filters.{kind.name}.sources: no source is named "
                                 f"{', '.join(map(repr, unknown))}; the sources are "
                                 f"{', '.join(map(repr, sorted(names)))}")
        return self

    @model_validator(mode="after")
    def _default_download_dirs(self) -> JobConfig:
        # Downloads live with the run by default so a resumed run finds them.
        for source in self.sources:
            if downloads(source.kind) and source.download_dir is None:
                source.download_dir = self.run.directory / "downloads" / source.source_name
        return self

    @property
    def downloads(self) -> bool:
        """Some source fetches its images by URL (a download summary at the end)."""
        return any(downloads(source.kind) for source in self.sources)

    @property
    def funnel_order(self) -> list[str]:
        """Reject-reason prefixes in the order rows meet them: the sources' own steps
        (metadata prefilters, downloads), decode, the filters, then caption QA."""
        head = dict.fromkeys(step for source in self.sources
                             for step in source_kind(source.kind).reject_steps)
        return [*head, DECODE_STEP, *self.filters.order, CAPTION_STEP]

    def fingerprint(self) -> str:
        """Hash of everything that changes the rows; runtime sizing does not count,
        so a resumed run may use other batch sizes or concurrency."""
        data = self.model_dump(mode="json")
        data.pop("ray")
        for captioner in [data["captioner"], *data["extra_captioners"]]:
            for key in ("batch_size", "concurrency", "num_gpus", "num_cpus", "env", "device"):
                captioner.pop(key, None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def _parse_override(override: str) -> tuple[list[str], Any]:
    key, sep, raw = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key.path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: value is not valid YAML ({exc})") from exc
    return key.strip().split("."), value


def _child(node: Any, part: str, path: list[str], index: int) -> Any:
    where = ".".join(path[: index + 1])
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(f"--set {'.'.join(path)}: {where} is not an item of the list")
        return node[int(part)]
    child = node.setdefault(part, {})
    if not isinstance(child, dict | list):
        raise ConfigError(f"--set {'.'.join(path)}: {where} is not a section")
    return child


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set ``key.path=value`` pairs; list items are addressed by index (sources.0.path)."""
    for override in overrides:
        path, value = _parse_override(override)
        node: Any = data
        for index, part in enumerate(path[:-1]):
            node = _child(node, part, path, index)
        last = path[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(f"--set {'.'.join(path)}: no list item {last}")
            node[int(last)] = value
        else:
            node[last] = value
    return data


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        parts = [str(part) for part in error["loc"]]
        # drop the discriminator tags pydantic inserts: sources.0.<kind>.key, captioner.<backend>
        if len(parts) > 2 and parts[0] == "sources" and not parts[2].isdigit():
            parts.pop(2)
        if len(parts) > 1 and parts[0] == "captioner" and parts[1] in CAPTIONER_BACKENDS:
            parts.pop(1)
        if (len(parts) > 2 and parts[0] == "extra_captioners"
                and parts[2] in CAPTIONER_BACKENDS):
            parts.pop(2)
        location = ".".join(parts)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        # a check across sections (a model validator) names its keys in the message
        lines.append(f"  {location}: {message}" if location else f"  {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> JobConfig:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections")
    data = apply_overrides(data, overrides)
    try:
        return JobConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from exc
