"""The one row loop of the CPU stages: which rows a stage works on, the error policy,
the image bytes, and several stages chained over each row."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from paraimage.batches import batch_to_rows, rows_to_batch
from paraimage.row_stage import RowChain, RowStage, RowStepError, Scratch, fused_stage
from paraimage.source import IMAGE_BYTES


class ParseStage(RowStage):
    """Parses the bytes as an int; a row whose bytes are no int fails."""

    error_prefix: ClassVar[str] = "parse_failed"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
        self.seen.append(row["id"])
        scratch["value"] = int(row[IMAGE_BYTES])
        row["n_bytes"] = scratch["value"]


class DoubleStage(RowStage):
    """Reads what ``ParseStage`` left in the scratch; reads the bytes last."""

    error_prefix: ClassVar[str] = "double_failed"
    reads_image_bytes_last: ClassVar[bool] = True

    def start_row(self, row: dict[str, Any]) -> None:
        row["width"] = None

    def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
        row["width"] = 2 * scratch.get("value", int(row[IMAGE_BYTES]))


def kept(row_id: str, data: bytes) -> dict[str, Any]:
    return {"id": row_id, "status": "kept", "error": None, IMAGE_BYTES: data}


def test_one_failing_row_becomes_an_error_row_and_the_others_go_on() -> None:
    rows = [kept("a", b"1"), kept("b", b"one"), kept("c", b"3")]
    out = batch_to_rows(ParseStage()(rows_to_batch(rows)))
    assert out == [
        {"id": "a", "status": "kept", "error": None, IMAGE_BYTES: b"1", "n_bytes": 1},
        {"id": "b", "status": "error",
         "error": "parse_failed: invalid literal for int() with base 10: b'one'",
         IMAGE_BYTES: None, "n_bytes": None},
        {"id": "c", "status": "kept", "error": None, IMAGE_BYTES: b"3", "n_bytes": 3},
    ]


@pytest.mark.parametrize("exc", [SyntaxError("broken PNG file"), KeyError("width"),
                                 MemoryError("no room"), RuntimeError("bug")])
def test_any_exception_of_a_row_is_that_rows_error(exc: Exception) -> None:
    class Raising(ParseStage):
        def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
            raise exc

    out = batch_to_rows(Raising()(rows_to_batch([kept("a", b"1")])))
    assert (out[0]["status"], out[0]["error"], out[0][IMAGE_BYTES]) == (
        "error", f"parse_failed: {exc}", None)


def test_interrupts_are_not_row_errors() -> None:
    class Interrupted(ParseStage):
        def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Interrupted()(rows_to_batch([kept("a", b"1")]))


def test_rows_not_kept_are_left_alone() -> None:
    stage = ParseStage()
    rows = [
        {"id": "a", "status": "error", "error": "read_failed: gone", IMAGE_BYTES: None},
        {"id": "b", "status": "rejected", "error": None, IMAGE_BYTES: b"oops"},
        kept("c", b"7"),
    ]
    out = batch_to_rows(stage(rows_to_batch(rows)))
    assert stage.seen == ["c"]
    assert out[0] == {"id": "a", "status": "error", "error": "read_failed: gone",
                      IMAGE_BYTES: None, "n_bytes": None}
    assert out[1] == {"id": "b", "status": "rejected", "error": None,
                      IMAGE_BYTES: b"oops", "n_bytes": None}


def test_a_row_that_is_rejected_drops_its_bytes() -> None:
    class Rejecting(ParseStage):
        def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
            row.update(status="rejected", reject_reason="parse_odd")

    out = batch_to_rows(Rejecting()(rows_to_batch([kept("a", b"1")])))
    assert out == [{"id": "a", "status": "rejected", "error": None, IMAGE_BYTES: None,
                    "reject_reason": "parse_odd"}]


def test_a_step_error_names_the_step() -> None:
    class Stepping(ParseStage):
        def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
            try:
                raise ValueError("no edges")
            except ValueError as exc:
                raise RowStepError("mosaic", exc) from exc

    out = batch_to_rows(Stepping()(rows_to_batch([kept("a", b"1")])))
    assert out[0]["error"] == "parse_failed: mosaic: no edges"


def test_the_last_reader_removes_the_bytes_of_every_row() -> None:
    rows = [kept("a", b"4"), {"id": "b", "status": "error", "error": "x", IMAGE_BYTES: None}]
    out = batch_to_rows(DoubleStage()(rows_to_batch(rows)))
    assert out == [{"id": "a", "status": "kept", "error": None, "width": 8},
                   {"id": "b", "status": "error", "error": "x", "width": None}]


def test_an_empty_batch_keeps_its_columns() -> None:
    empty = rows_to_batch([kept("a", b"1")]).slice(0, 0)
    assert ParseStage()(empty).column_names == ["id", "status", "error", IMAGE_BYTES]


def test_a_chain_gives_the_rows_of_its_stages_run_one_after_another() -> None:
    rows = [kept("a", b"1"), kept("b", b"one"), kept("c", b"3")]
    separate = DoubleStage()(ParseStage()(rows_to_batch(rows)))
    chained = RowChain([ParseStage(), DoubleStage()])(rows_to_batch(rows))
    assert chained.equals(separate)
    assert batch_to_rows(chained)[1] == {
        "id": "b", "status": "error",
        "error": "parse_failed: invalid literal for int() with base 10: b'one'",
        "n_bytes": None, "width": None}


def test_chained_stages_share_one_scratch_per_row() -> None:
    class Counting(DoubleStage):
        def process_row(self, row: dict[str, Any], scratch: Scratch) -> None:
            row["width"] = scratch["value"]  # fails unless the parse left it here

    out = batch_to_rows(RowChain([ParseStage(), Counting()])(
        rows_to_batch([kept("a", b"5"), kept("b", b"6")])))
    assert [(row["status"], row["width"]) for row in out] == [("kept", 5), ("kept", 6)]


def test_a_fused_stage_is_named_after_its_parts() -> None:
    parse, double = ParseStage(), DoubleStage()
    fused = fused_stage([("parse", parse), ("double", double)], num_cpus=0.25, batch_size=8)
    assert (fused.name, fused.num_cpus, fused.batch_size) == ("parse+double", 0.25, 8)
    assert isinstance(fused.fn, RowChain) and fused.fn.stages == (parse, double)
    alone = fused_stage([("parse", parse)])
    assert (alone.name, alone.fn) == ("parse", parse)
    with pytest.raises(ValueError, match="at least one stage"):
        fused_stage([])
