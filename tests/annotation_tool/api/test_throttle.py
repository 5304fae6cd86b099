"""The login back-off and the single-use login tokens, without a server (issue 22.4)."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from annotation_tool.api.throttle import LoginThrottle, LoginTokens
from annotation_tool.errors import NotAuthenticatedError, TooManyAttemptsError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, username: str, client: str = "10.0.0.1") -> None:
    with pytest.raises(NotAuthenticatedError), throttle.attempt(username, client):
        raise NotAuthenticatedError("wrong username or password")


class TestLoginThrottle:
    def test_concurrent_guesses_past_the_free_ones_are_checked_one_at_a_time(self):
        throttle = LoginThrottle(account_free=2, clock=FakeClock())
        fail(throttle, "ann")
        with (
            throttle.attempt("ann", "10.0.0.1"),  # the last free guess, still running
            pytest.raises(TooManyAttemptsError),
            throttle.attempt("ann", "10.0.0.2"),
        ):
            pass

    def test_many_people_behind_one_address_log_in_at_once(self):
        throttle = LoginThrottle(client_free=20, clock=FakeClock())
        with ExitStack() as stack:
            for i in range(30):  # all still being checked at the same time
                stack.enter_context(throttle.attempt(f"annotator{i}", "10.0.0.1"))

    def test_usernames_are_keyed_like_the_login_reads_them(self):
        throttle = LoginThrottle(account_free=2, clock=FakeClock())
        fail(throttle, "Ann ")
        fail(throttle, "ann", client="10.0.0.2")
        with pytest.raises(TooManyAttemptsError), throttle.attempt("ANN", "10.0.0.3"):
            pass

    def test_back_off_is_capped_and_forgotten_after_an_hour(self):
        clock = FakeClock()
        throttle = LoginThrottle(account_free=1, max_s=5, clock=clock)
        waits = []
        for _ in range(5):
            fail(throttle, "ann")
            try:
                with throttle.attempt("ann", "10.0.0.1"):
                    pass
            except TooManyAttemptsError as exc:
                waits.append(exc.details["retry_after_s"])
                clock.now += exc.details["retry_after_s"]
        assert waits == [1, 2, 4, 5, 5]
        fail(throttle, "ann")
        clock.now += 3601
        with throttle.attempt("ann", "10.0.0.1"):
            pass

    def test_a_success_does_not_reset_the_address(self):
        throttle = LoginThrottle(account_free=100, client_free=2, clock=FakeClock())
        fail(throttle, "victim")
        with throttle.attempt("own-account", "10.0.0.1"):
            pass  # the guesser's own, correct login
        fail(throttle, "victim")
        with pytest.raises(TooManyAttemptsError), throttle.attempt("victim", "10.0.0.1"):
            pass


class TestLoginTokens:
    def test_a_token_is_good_once_and_until_it_expires(self):
        clock = FakeClock()
        tokens = LoginTokens(ttl_s=60, clock=clock)
        used, late = tokens.issue(), tokens.issue()
        assert (tokens.consume(used), tokens.consume(used)) == (True, False)
        clock.now += 61
        assert tokens.consume(late) is False
        assert (tokens.consume(None), tokens.consume("made-up")) == (False, False)

    def test_the_oldest_go_first_past_the_cap(self):
        tokens = LoginTokens(max_tokens=2, clock=FakeClock())
        first, second, third = tokens.issue(), tokens.issue(), tokens.issue()
        assert [tokens.consume(t) for t in (first, second, third)] == [False, True, True]
