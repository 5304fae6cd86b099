"""stats: caption statistics (spaCy + CLIP BPE) and the papers' tables (DuckDB).

See stats/README.md. Heavy libraries (spaCy, torch via open_clip, matplotlib) load
inside constructors and functions, so importing this package stays cheap.
"""

from stats.clip_tokens import ClipTokenCounter
from stats.compute import ComputeSummary, PartialWriter, compute_text_stats
from stats.inputs import InputFile, StatsInputError, open_input
from stats.report import write_report, write_run_report
from stats.tables import compute_tables, summary_table
from stats.text_stats import CaptionStats, TextStatsExtractor
from stats.views import connect, create_file_views, create_run_views

__all__ = [
    "CaptionStats",
    "ClipTokenCounter",
    "ComputeSummary",
    "InputFile",
    "PartialWriter",
    "StatsInputError",
    "TextStatsExtractor",
    "compute_tables",
    "compute_text_stats",
    "connect",
    "create_file_views",
    "create_run_views",
    "open_input",
    "summary_table",
    "write_report",
    "write_run_report",
]
