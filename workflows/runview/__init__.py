"""Views of a run read from its run directory: ``paraimage status`` and the HTML
report of ``paraimage report`` (also written at the end of every recaption run)."""

from workflows.runview.status import RunStatus, run_status

__all__ = ["RunStatus", "run_status"]
