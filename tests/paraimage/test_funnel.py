"""The funnel's one definition: reasons, error kinds and steps, exactly."""

from __future__ import annotations

import duckdb
import pytest

from paraimage.funnel import counts_sql, step_sql

ROWS = [
    ("kept", None, None),
    ("rejected", "aesthetic_low_score", None),
    ("rejected", "aesthetic_low_score", None),
    ("rejected", "dedup_exact", None),
    ("rejected", "caption_refusal", None),
    ("rejected", None, None),
    ("error", None, "decode_corrupt: image file is truncated (5 bytes)"),
    ("error", None, "decode_corrupt: other detail"),
    ("error", None, "free text without a kind\nsecond: line"),
    ("error", None, "x" * 100),
    ("error", None, None),
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE m (status VARCHAR, reject_reason VARCHAR, error VARCHAR)")
    con.executemany("INSERT INTO m VALUES (?, ?, ?)", ROWS)
    return con


def test_reasons_and_error_kinds(con: duckdb.DuckDBPyConnection) -> None:
    assert con.execute(f"SELECT * FROM ({counts_sql('m')}) ORDER BY ALL").fetchall() == [
        ("error", "(none)", 1),
        ("error", "decode_corrupt", 2),
        ("error", "free text without a kind", 1),
        ("error", "x" * 80, 1),
        ("kept", None, 1),
        ("rejected", "(none)", 1),
        ("rejected", "aesthetic_low_score", 2),
        ("rejected", "caption_refusal", 1),
        ("rejected", "dedup_exact", 1),
    ]


def test_the_step_of_a_reason_is_the_first_prefix_in_order(
    con: duckdb.DuckDBPyConnection
) -> None:
    order = ["resolution", "aesthetic", "dedup"]
    assert con.execute(
        f"SELECT DISTINCT status, reject_reason, {step_sql(order)} FROM m "
        "ORDER BY status, reject_reason NULLS FIRST").fetchall() == [
        ("error", None, None),
        ("kept", None, None),
        ("rejected", None, 3),  # no reason: other
        ("rejected", "aesthetic_low_score", 1),
        ("rejected", "caption_refusal", 3),  # no step of the order names it: other
        ("rejected", "dedup_exact", 2),
    ]
    # a name is a prefix only with its "_": "dedup" does not take "dedupe_x"
    assert con.execute(
        f"SELECT {step_sql(['dedup'])} FROM (SELECT 'rejected' AS status, "
        "'dedupe_x' AS reject_reason)").fetchone() == (1,)
