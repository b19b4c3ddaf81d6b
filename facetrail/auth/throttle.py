"""Slowing password guessing: failed logins lock an account, and a client address, for a while.

The counts live in the database (tables login_failures and login_lockouts), so
every API process on one database shares them: running several processes does
not multiply the allowance, and a restart forgets nothing. Times are wall-clock
seconds, comparable across processes. Both limits are checked before the
password is verified, so a locked-out attacker learns nothing and spends no
server time on argon2.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from facetrail.storage.database import Database
from facetrail.storage.login_store import LoginStore


@dataclass(frozen=True)
class ThrottleLimits:
    failures_per_account: int = 5
    failures_per_client: int = 20
    window_s: float = 900.0
    lockout_s: float = 900.0


class LoginThrottle:
    """Failed attempts in a sliding window, per account and per client; at the limit, a lockout."""

    def __init__(self, db: Database, limits: ThrottleLimits = ThrottleLimits(), clock: Callable[[], float] = time.time):
        self._store = LoginStore(db)
        self.limits = limits
        self._clock = clock

    def retry_after(self, username: str, client: str | None) -> int | None:
        """Whole seconds until this account or client may try again, or None when it may now."""
        now = self._clock()
        until = self._store.locked_until(self._keys_of(username, client), now)
        return math.ceil(until - now) if until is not None else None

    def locked_accounts(self) -> dict[str, float]:
        """Accounts locked out now, with when each lockout ends (seconds since the epoch)."""
        return self._store.locked_keys(self._account(""), self._clock())

    def failed(self, username: str, client: str | None) -> None:
        for _ in range(3):  # another process may create the same lockout row at the same moment
            try:
                self._store.count_failure(self._limits_of(username, client), self._clock(), self.limits.window_s,
                                          self.limits.lockout_s)
                return
            except IntegrityError:
                continue

    def succeeded(self, username: str) -> None:
        """A right password clears the account's count; the client's stays (it may be guessing at others)."""
        self._store.clear(self._account(username))

    @staticmethod
    def _account(username: str) -> str:
        return f"account:{username}"

    def _keys_of(self, username: str, client: str | None) -> list[str]:
        return [key for key, _ in self._limits_of(username, client)]

    def _limits_of(self, username: str, client: str | None) -> list[tuple[str, int]]:
        keys = [(self._account(username), self.limits.failures_per_account)]
        return keys + ([(f"client:{client}", self.limits.failures_per_client)] if client else [])
