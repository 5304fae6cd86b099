"""Contexts: the workflow logic, one module per resource; handlers call these.

accounts (users, sessions), projects, imports (DuckDB over manifests), images
(originals, cached thumbnails), claims (expiring locks), selection (scores,
inspections, settlements), descriptions (versioned saves, drafts, submission),
audits (two rounds of two reviewers), skips (set aside with a reason, unreadable
reports), revisions (word diff for the auditor), progress (done today, left, pace),
study (caption-quality ratings), dashboard, agreement (kappa, alpha), exports
(Parquet/JSONL), history (and its timeline), audit_log.
"""

from annotation_tool.contexts.claims import Task

__all__ = ["Task"]
