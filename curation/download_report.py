"""img2dataset's per-shard stats of a run, folded into one summary.

Each download folder (``RUN_DIR/downloads/<source>/``) holds one ``NNNNN_stats.json``
per shard (counts, duration, and img2dataset's tally of error messages). The summary
adds them up per source into ``RUN_DIR/downloads/summary.json`` and one printed line.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from curation.url_download import read_stats
from paraimage.atomic import atomic_write


def summarize_downloads(run_root: Path) -> dict[str, Any]:
    per_source: dict[str, Any] = {}
    for folder in sorted(p for p in (run_root / "downloads").glob("*") if p.is_dir()):
        stats = read_stats(folder)
        if not stats:
            continue
        errors: Counter[str] = Counter()
        for shard in stats:
            errors.update({k: v for k, v in shard["status_dict"].items() if k != "success"})
        seconds = sum(shard["duration"] for shard in stats)
        count = sum(shard["count"] for shard in stats)
        per_source[folder.name] = {
            "shards": len(stats),
            "urls": count,
            "successes": sum(shard["successes"] for shard in stats),
            "failed_to_download": sum(shard["failed_to_download"] for shard in stats),
            "failed_to_resize": sum(shard["failed_to_resize"] for shard in stats),
            "shard_seconds": round(seconds, 3),
            "urls_per_shard_second": round(count / seconds, 2) if seconds else None,
            "errors": dict(errors.most_common()),
        }
    return per_source


def write_download_summary(run_root: Path) -> str | None:
    """Write the summary; the line to print, or None for a run without downloads."""
    summary = summarize_downloads(run_root)
    if not summary:
        return None
    path = run_root / "downloads" / "summary.json"
    atomic_write(path, json.dumps(summary, indent=2, sort_keys=True))
    parts = []
    for name, s in summary.items():
        top = ", ".join(f"{k!r} {v}" for k, v in list(s["errors"].items())[:3])
        parts.append(f"{name}: {s['successes']}/{s['urls']} URLs downloaded"
                     + (f" (failures: {top})" if top else ""))
    return "downloads: " + "; ".join(parts) + f" -> {path}"
