"""One row loop for the CPU stages: batch -> rows -> each kept row's work -> batch.

Stages decide one image at a time; this module owns what every such stage used to write
for itself:

* rows that are no longer ``kept`` are left alone;
* one error policy: an exception while working on one row makes that row an ``error``
  row (``"<stage prefix>: <exception>"``) and the other rows go on. Any ``Exception``
  counts, because decoders and filters raise odd types on odd input (PIL raises
  ``SyntaxError`` for some broken files): a bad image must never fail its neighbours;
* the image bytes: a row that leaves ``kept`` drops them (nothing downstream reads
  them), and the stage that reads them last removes the column.

``RowChain`` runs several row stages over each row in turn, in one loop, with one
``scratch`` dict per row that lives only while that row is worked on. That is how the
stages of one Ray task share an image decoded once (``curation.probe.decoded_image``)
instead of each decoding the bytes again: between separate Ray Data stages a row is
Arrow data, and pixels do not travel. The result is row for row what running the same
stages one after another gives, since no stage looks at other rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from paraimage.batches import Batch, Row, batch_to_rows, rows_to_batch
from paraimage.engine import CpuStage
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT
from paraimage.source import IMAGE_BYTES

Scratch = dict[str, Any]  # one row's working objects (a decoded image), never written


class RowStepError(Exception):
    """A failure inside one named step of a stage (one filter of the chain): the row's
    error names the step, ``"filter_failed: mosaic: <cause>"``."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"{step}: {cause}")
        self.step = step


class RowStage(ABC):
    """A Ray Data batch stage that works row by row: subclasses write ``process_row``.

    ``error_prefix`` starts the ``error`` of a row whose ``process_row`` raised.
    ``reads_image_bytes_last``: the column of original bytes is removed from every row
    after this stage (the caption-image stage, after which only pixels travel).
    """

    error_prefix: ClassVar[str]
    reads_image_bytes_last: ClassVar[bool] = False

    def start_row(self, row: Row) -> None:  # noqa: B027 - most stages add nothing here
        """Every row, kept or not, before any work: columns this stage always adds."""

    @abstractmethod
    def process_row(self, row: Row, scratch: Scratch) -> None:
        """Work on one ``kept`` row in place: its columns, its verdict."""

    def __call__(self, batch: Batch) -> Batch:
        return run_rows(batch, (self,))


def fail_row(row: Row, message: str) -> None:
    """The one way a row becomes an ``error`` row: its message, and no bytes downstream
    (also for a stage that is not a row stage, such as an actor's per-image decode)."""
    row.update(status=STATUS_ERROR, error=message)
    row[IMAGE_BYTES] = None


def run_rows(batch: Batch, stages: Sequence[RowStage]) -> Batch:
    rows = batch_to_rows(batch)
    # the columns each stage adds, first seen first: the output's columns come in the
    # order the stages run as separate Ray Data stages would give them
    added: list[dict[str, None]] = [{} for _ in stages]
    for row in rows:
        scratch: Scratch = {}
        for stage, columns in zip(stages, added, strict=True):
            before = set(row)
            _run_one(stage, row, scratch)
            columns.update(dict.fromkeys(name for name in row if name not in before))
    table = rows_to_batch(rows, like=batch)
    order = dict.fromkeys(batch.column_names)
    for columns in added:
        order.update(columns)
    return table.select([name for name in order if name in table.column_names])


def _run_one(stage: RowStage, row: Row, scratch: Scratch) -> None:
    stage.start_row(row)
    if row["status"] == STATUS_KEPT:
        try:
            stage.process_row(row, scratch)
        except Exception as exc:  # noqa: BLE001 - one bad row, one error row
            fail_row(row, f"{stage.error_prefix}: {exc}")
        if row["status"] != STATUS_KEPT:
            row[IMAGE_BYTES] = None  # rejected and error rows carry no bytes downstream
    if stage.reads_image_bytes_last:
        row.pop(IMAGE_BYTES, None)


class RowChain:
    """Several row stages as one Ray Data stage: each row goes through all of them
    before the next row, sharing one ``scratch``."""

    def __init__(self, stages: Sequence[RowStage]) -> None:
        if not stages:
            raise ValueError("a row chain needs at least one stage")
        self.stages = tuple(stages)

    def __call__(self, batch: Batch) -> Batch:
        return run_rows(batch, self.stages)


def fused_stage(
    named: Sequence[tuple[str, RowStage]], num_cpus: float = 1.0, batch_size: int = 32
) -> CpuStage:
    """One CPU stage running ``named`` row stages per row, called by their names joined
    with ``+`` (``probe+filters+prepare``, what the progress line showed when Ray Data
    fused the separate stages into one task)."""
    if not named:
        raise ValueError("fused_stage needs at least one stage")
    name = "+".join(stage_name for stage_name, _ in named)
    stages = [stage for _, stage in named]
    fn = stages[0] if len(stages) == 1 else RowChain(stages)
    return CpuStage(name, fn, num_cpus=num_cpus, batch_size=batch_size)
