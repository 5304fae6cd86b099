"""What an export reads about the run besides its manifests: the saved config and record.

The layout is ``paraimage.rundir.RunDir``'s: ``config.yaml`` (``fingerprint`` +
``config``), ``run.json`` (``run_id``, invocations with commit and package versions,
counts), ``funnel/`` (filters/funnel.py) and ``stats/`` (stats/report.py). Only the
manifests are required; the card says what is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from export.options import ExportError
from paraimage.rundir import RunDir


@dataclass
class RunInfo:
    root: Path
    config: dict[str, Any] = field(default_factory=dict)  # the validated job config
    fingerprint: str | None = None
    record: dict[str, Any] = field(default_factory=dict)  # run.json

    @classmethod
    def load(cls, run_dir: Path) -> RunInfo:
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise ExportError(f"run directory not found: {run_dir}")
        layout = RunDir(run_dir)
        if not layout.manifest_files():
            raise ExportError(f"no manifests in {layout.manifests} (is {run_dir} a run?)")
        info = cls(root=run_dir.resolve(), record=_read_json(layout.record_path))
        if layout.config_path.exists():
            try:
                document = yaml.safe_load(layout.config_path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise ExportError(f"{layout.config_path} is not valid YAML: {exc}") from exc
            info.config = document.get("config") or {}
            info.fingerprint = document.get("fingerprint")
        return info

    @property
    def run_id(self) -> str:
        return str(self.record.get("run_id") or self.root.name)

    @property
    def captioner(self) -> dict[str, Any]:
        return self.config.get("captioner") or {}

    @property
    def target_words(self) -> int | None:
        """The captioner's length target: every caption of one run shares it."""
        value = self.captioner.get("target_words")
        return int(value) if value is not None else None

    @property
    def sources(self) -> list[dict[str, Any]]:
        return list(self.config.get("sources") or [])

    @property
    def first_invocation(self) -> dict[str, Any]:
        invocations = self.record.get("invocations") or [{}]
        return invocations[0]

    @property
    def last_invocation(self) -> dict[str, Any]:
        invocations = self.record.get("invocations") or [{}]
        return invocations[-1]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ExportError(f"{path} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}
