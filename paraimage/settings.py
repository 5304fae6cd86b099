"""The engine's own settings: where a run lives and how it uses Ray.

The job's configuration (``workflows/config.py``) composes these with the stages'
config models. The kernel needs only what ``JobSettings`` names, so it never imports
a stage to run a job.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ByteSize, ConfigDict, Field, field_validator

from paraimage.errors import UserError


class ConfigError(UserError, ValueError):
    """A configuration problem; the message names the key path."""


class Strict(BaseModel):
    """A section that refuses unknown keys: a misspelt key is an error, not a default."""

    model_config = ConfigDict(extra="forbid")


class RunConfig(Strict):
    name: str = Field(description="run name; the run directory is output_dir/name")
    output_dir: Path = Path("runs")

    @field_validator("name")
    @classmethod
    def _filename_safe(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ValueError(f"run name must be letters, digits, '.', '_' or '-': {name!r}")
        return name

    @property
    def directory(self) -> Path:
        return (self.output_dir.expanduser() / self.name).resolve()


class RayConfig(Strict):
    address: str | None = Field(
        None, description="cluster address; default: RAY_ADDRESS, or start a local Ray"
    )
    num_cpus: int | None = Field(None, gt=0, description="CPUs of a local Ray (default: all)")
    cpu_stage_num_cpus: float = Field(
        1.0, gt=0, description="CPUs per CPU-stage task; fractions keep 2-core boxes moving"
    )
    cpu_batch_size: int = Field(32, gt=0, description="rows per CPU-stage batch")
    driver_buffer_bytes: ByteSize = Field(
        ByteSize(256 * 2**20), gt=0,
        description="rows of unfinished shards the driver holds in memory (e.g. 256MiB); "
        "past it the largest is spilled to RUN_DIR/spill/ (docs/design-notes.md)",
    )
    run_level_memory: ByteSize = Field(
        ByteSize(512 * 2**20), gt=0,
        description="DuckDB's memory in the driver's run-level steps (dedup, statistics "
        "report; e.g. 512MiB); past it DuckDB spills to a temporary folder",
    )


class JobSettings(Protocol):
    """What the runner reads of a job's configuration."""

    run: RunConfig
    ray: RayConfig

    def fingerprint(self) -> str:
        """Hash of everything that changes the rows (resume refuses another one)."""
        ...

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """The configuration as data, saved in the run directory."""
        ...
