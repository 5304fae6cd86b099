"""Runtime settings of one review-tool server, built by the CLI or by tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# How long a claimed item stays locked without a heartbeat. The browser beats every
# LOCK_TTL_S / 4, so a closed tab frees its item within about this many seconds.
DEFAULT_LOCK_TTL_S = 120
SESSION_TTL_S = 12 * 3600
# A description someone started stays theirs; another annotator may take it over only
# after this long with no heartbeat and no save on it (one session's length).
DEFAULT_TAKEOVER_AFTER_S = SESSION_TTL_S
COOKIE_SESSION = "pi_session"
COOKIE_LOGIN_CSRF = "pi_login_csrf"
HEADER_CSRF = "X-CSRF-Token"
# Requests served at once. It must stay below the worker thread pool (anyio's default
# is 40): a request holding SQLite's write lock needs a free thread for its next step
# (handler, then commit), and a pool filled with requests waiting for that lock would
# deadlock until the busy timeout.
MAX_CONCURRENT_REQUESTS = 24
# Request bodies are refused (413) above these sizes before they are read. The largest
# legitimate body is a 20,000-character description, at most ~120 KB as escaped JSON.
MAX_BODY_BYTES = 256 * 1024
BODY_LIMITS = {"/api/auth/login": 4 * 1024}  # 64 + 256 characters, escaped


@dataclass(frozen=True)
class Settings:
    """Where the data lives and what the server may read.

    ``image_roots`` confine every image read (``open_image_ref(..., roots=...)``);
    ``manifest_roots`` confine the run directories an admin may import from the UI.
    """

    database_url: str
    image_roots: tuple[Path, ...]
    thumbnail_dir: Path
    manifest_roots: tuple[Path, ...] = field(default_factory=tuple)
    lock_ttl_s: int = DEFAULT_LOCK_TTL_S
    session_ttl_s: int = SESSION_TTL_S
    takeover_after_s: int = DEFAULT_TAKEOVER_AFTER_S
    secure_cookies: bool = False  # True behind HTTPS

    @property
    def import_roots(self) -> tuple[Path, ...]:
        return self.manifest_roots or self.image_roots


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def database_url_from_arg(value: str) -> str:
    """``--db`` takes a SQLAlchemy URL (postgresql+psycopg://...) or a SQLite file path."""
    return value if "://" in value else sqlite_url(value)
