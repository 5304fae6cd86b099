"""The one base of the errors a user can fix: bad settings or input, a busy or
unwritable run directory, a model or server that is not there.

Every command catches ``UserError`` alone, prints its message on one line and exits
with ``EXIT_USER_ERROR``; each stage says which of its errors are such by deriving
from it, so no command keeps a list of other packages' exception types. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2  # bad input or settings, reported before (or instead of) any work


class UserError(Exception):
    """A problem with what the user gave, named so they can fix it."""
