"""The one error type of the statistics commands' input checks."""

from __future__ import annotations

from paraimage.errors import UserError


class StatsInputError(UserError, ValueError):
    """Input the user must fix: named file, line, column or query, never a traceback.
    The CLI prints it as one line and exits 2."""
