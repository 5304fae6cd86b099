"""Login brute-force defences: a growing back-off per account and per client address,
and single-use login tokens.

Both live in the server process's memory. The server is one process, and keeping
this out of the database means a guess costs no write, so a guesser cannot queue the
annotators' saves behind SQLite's write lock. A guess refused with 429 costs no
password hash either: it is answered before scrypt runs.

No library was taken for this: ``limits``/``slowapi`` count requests in fixed or moving
windows; what is needed here is a back-off that grows with each failure in a row and
is reset by a success, keyed by a field of the request body.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from annotation_tool.errors import NotAuthenticatedError, TooManyAttemptsError
from annotation_tool.security import new_token, token_digest

Clock = Callable[[], float]


@dataclass
class _Record:
    failures: int = 0  # failed logins in a row
    pending: int = 0  # attempts being checked right now
    blocked_until: float = 0.0
    last: float = 0.0


class Backoff:
    """After ``free`` failures in a row, each failure blocks its key for
    ``base_s * 2**n`` seconds (n = failures beyond ``free - 1``), at most ``max_s``.
    A key with no failure for ``forget_s`` starts again from zero; at most ``max_keys``
    keys are kept (the least recently used go first).

    ``pending_may_fail``: attempts still being checked count against the free ones, so
    a burst of concurrent guesses cannot all slip in before the first failure is
    counted. Right for an account (nobody logs in to one account 5 times at once);
    for an address it would refuse an office's people logging in together, so there
    it applies only once the address has failed."""

    def __init__(
        self,
        free: int,
        base_s: float = 1.0,
        max_s: float = 900.0,
        forget_s: float = 3600.0,
        max_keys: int = 100_000,
        pending_may_fail: bool = True,
    ) -> None:
        self.free, self.base_s, self.max_s = free, base_s, max_s
        self.pending_may_fail = pending_may_fail
        self.forget_s, self.max_keys = forget_s, max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _get(self, key: str, now: float) -> _Record:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record(last=now)
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
        elif record.pending == 0 and now - record.last > self.forget_s:
            record.failures, record.blocked_until = 0, 0.0
        self._records.move_to_end(key)
        return record

    def wait_s(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again; 0 if it may now. Past the free
        attempts, only one attempt per key is checked at a time."""
        record = self._get(key, now)
        if record.blocked_until > now:
            return record.blocked_until - now
        counts = self.pending_may_fail or record.failures > 0
        if counts and record.pending and record.failures + record.pending >= self.free:
            return self.base_s
        return 0.0

    def begin(self, key: str, now: float) -> None:
        self._get(key, now).pending += 1

    def end(self, key: str, now: float, failed: bool | None) -> None:
        """``failed``: True counts a failure, False (a success) resets the key, None
        (the check itself broke) only ends the attempt."""
        record = self._get(key, now)
        record.pending = max(0, record.pending - 1)
        record.last = now
        if failed is False:
            record.failures, record.blocked_until = 0, 0.0
        elif failed:
            record.failures += 1
            if record.failures >= self.free:
                delay = self.base_s * 2 ** min(record.failures - self.free, 32)
                record.blocked_until = now + min(self.max_s, delay)


class LoginThrottle:
    """A back-off per account (by username, whether it exists or not) and one per
    client address. A success resets the account's, never the address's: a guesser
    with one account of their own cannot wipe the count by logging in to it."""

    def __init__(
        self,
        account_free: int = 5,
        client_free: int = 20,
        base_s: float = 1.0,
        max_s: float = 900.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.accounts = Backoff(account_free, base_s, max_s)
        self.clients = Backoff(client_free, base_s, max_s, pending_may_fail=False)
        self.clock = clock
        self._lock = threading.Lock()

    @staticmethod
    def account_key(username: str) -> str:
        return username.strip().casefold()

    @contextmanager
    def attempt(self, username: str, client: str) -> Iterator[None]:
        """Raises TooManyAttemptsError while either key is blocked; otherwise counts
        a NotAuthenticatedError from the block as a failure, and a clean exit as a
        success."""
        account = self.account_key(username)
        with self._lock:
            now = self.clock()
            wait = max(self.accounts.wait_s(account, now), self.clients.wait_s(client, now))
            if wait > 0:
                raise TooManyAttemptsError(
                    "Too many failed logins; wait before trying again.",
                    retry_after_s=math.ceil(wait),
                )
            self.accounts.begin(account, now)
            self.clients.begin(client, now)
        outcome: bool | None = None
        try:
            yield
            outcome = False
        except NotAuthenticatedError:
            outcome = True
            raise
        finally:
            with self._lock:
                now = self.clock()
                self.accounts.end(account, now, outcome)
                # A success ends the attempt for the address without resetting it.
                self.clients.end(client, now, outcome or None)


class LoginTokens:
    """Login CSRF tokens that serve one login attempt each (stored as digests, for at
    most ``ttl_s``; the oldest go first past ``max_tokens``)."""

    def __init__(
        self, ttl_s: float = 3600.0, max_tokens: int = 100_000, clock: Clock = time.monotonic
    ) -> None:
        self.ttl_s, self.max_tokens, self.clock = ttl_s, max_tokens, clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = new_token()
        with self._lock:
            self._expiry[token_digest(token)] = self.clock() + self.ttl_s
            while len(self._expiry) > self.max_tokens:
                self._expiry.popitem(last=False)
        return token

    def consume(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._expiry.pop(token_digest(token), None)
        return expiry is not None and expiry > self.clock()
