"""LoginThrottle: failed logins lock an account or a client address for a while, counted in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from facetrail.auth.throttle import LoginThrottle, ThrottleLimits
from facetrail.storage.models import LoginFailureRow, LoginLockoutRow

LIMITS = ThrottleLimits(failures_per_account=3, failures_per_client=5, window_s=60, lockout_s=120)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttle_on(db):
    def make(clock: Clock) -> LoginThrottle:
        return LoginThrottle(db, LIMITS, clock=clock)

    return make


def test_an_account_may_try_again_until_its_failures_reach_the_limit(throttle_on):
    clock = Clock()
    throttle = throttle_on(clock)
    for _ in range(2):
        throttle.failed("ada", "10.0.0.1")
    assert throttle.retry_after("ada", "10.0.0.1") is None
    throttle.failed("ada", "10.0.0.1")
    assert throttle.retry_after("ada", "10.0.0.9") == 120


def test_a_lockout_ends_after_its_time(throttle_on):
    clock = Clock()
    throttle = throttle_on(clock)
    for _ in range(3):
        throttle.failed("ada", None)
    clock.now += 119.5
    assert throttle.retry_after("ada", None) == 1
    clock.now += 0.5
    assert throttle.retry_after("ada", None) is None


def test_failures_older_than_the_window_do_not_count(throttle_on):
    clock = Clock()
    throttle = throttle_on(clock)
    for _ in range(2):
        throttle.failed("ada", None)
    clock.now += 61
    throttle.failed("ada", None)
    assert throttle.retry_after("ada", None) is None


def test_a_client_guessing_at_many_accounts_is_locked_out_of_all_of_them(throttle_on):
    clock = Clock()
    throttle = throttle_on(clock)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        throttle.failed(name, "10.0.0.1")
    assert throttle.retry_after("someone-else", "10.0.0.1") == 120
    assert throttle.retry_after("someone-else", "10.0.0.2") is None


def test_a_right_password_clears_the_accounts_count_but_not_the_clients(throttle_on):
    clock = Clock()
    throttle = throttle_on(clock)
    for name in ("ada", "ada", "bob", "bob"):
        throttle.failed(name, "10.0.0.1")
    throttle.succeeded("ada")
    throttle.failed("ada", "10.0.0.1")
    assert throttle.retry_after("ada", "10.0.0.2") is None
    assert throttle.retry_after("carol", "10.0.0.1") == 120


def test_throttles_of_two_processes_on_one_database_share_the_count(throttle_on):
    clock = Clock()
    first, second = throttle_on(clock), throttle_on(clock)
    first.failed("ada", None)
    second.failed("ada", None)
    first.failed("ada", None)
    assert second.retry_after("ada", None) == 120


def test_failures_that_left_the_window_and_ended_lockouts_are_deleted(throttle_on, db):
    clock = Clock()
    throttle = throttle_on(clock)
    for _ in range(3):
        throttle.failed("locked", None)
    for name in ("b", "c", "d", "e"):
        throttle.failed(name, None)
    clock.now += 121
    throttle.failed("f", None)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(LoginLockoutRow)) == 0
        assert session.scalars(select(LoginFailureRow.key)).all() == ["account:f"]
