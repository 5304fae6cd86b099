"""The funnel's one definition: why a row left it, and at which step.

Every count of the funnel (the run summary, the ``funnel`` view of ``paraimage query``,
the statistics rollups, the filter funnel report) groups rows by the same key, written
here once as SQL over a relation of manifest rows:

* a rejected row's reason is its ``reject_reason`` (``"(none)"`` when missing);
* an error row's reason is its error kind: the text before the first ``:`` of the
  first line of ``error`` (messages are ``kind: detail``), capped, so free text that
  breaks that convention still groups into a bounded key;
* a kept row has no reason (NULL).

A reason belongs to the first step, in the job's funnel order, whose name followed by
``_`` starts it (``aesthetic_low_score`` is the ``aesthetic`` step's); a reason no step
names (a caption QA reject when ``caption`` is not listed) falls to one more step,
"other". The order is the job's configuration, so only a caller that has it (the
funnel report) groups by step; the others group by reason, which refines the step.
"""

from __future__ import annotations

from collections.abc import Sequence

from paraimage.manifest import STATUS_ERROR, STATUS_REJECTED

NO_REASON = "(none)"
# Error kinds are short codes; the cap bounds the groups of free-text messages.
ERROR_KIND_MAX_CHARS = 80


def error_kind_sql(column: str = "error") -> str:
    """SQL for the kind of an error message: before the first ``:`` of its first line."""
    first_line = f"split_part(coalesce({column}, '{NO_REASON}'), chr(10), 1)"
    return f"left(split_part({first_line}, ':', 1), {ERROR_KIND_MAX_CHARS})"


def reason_sql() -> str:
    """SQL for a row's funnel reason (columns ``status``, ``reject_reason``, ``error``)."""
    return (
        f"CASE status WHEN '{STATUS_REJECTED}' THEN coalesce(reject_reason, '{NO_REASON}') "
        f"WHEN '{STATUS_ERROR}' THEN {error_kind_sql()} END"
    )


def counts_sql(relation: str, columns: Sequence[str] = ()) -> str:
    """Rows of ``relation`` per ``columns``, status and reason: ``(..., status, reason, n)``."""
    keys = "".join(f"{c}, " for c in columns)
    return (
        f"SELECT {keys}status, reason, count(*) AS n "
        f"FROM (SELECT {keys}status, {reason_sql()} AS reason FROM {relation}) "
        f"GROUP BY ALL"
    )


def _escape_like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def step_sql(order: Sequence[str]) -> str:
    """SQL for the 0-based step of ``order`` at which a row was rejected: the first
    step whose name and ``_`` start its ``reject_reason``, ``len(order)`` (other) when
    none does; NULL for rows not rejected."""
    cases = " ".join(
        f"WHEN reject_reason LIKE '{_escape_like(name)}\\_%' ESCAPE '\\' THEN {i}"
        for i, name in enumerate(order)
    )
    inner = f"CASE {cases} ELSE {len(order)} END" if cases else str(len(order))
    return f"CASE WHEN status = '{STATUS_REJECTED}' THEN ({inner}) END"
