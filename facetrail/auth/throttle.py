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

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from facetrail.storage.database import Database
from facetrail.storage.models import LoginFailureRow, LoginLockoutRow


@dataclass(frozen=True)
class ThrottleLimits:
    failures_per_account: int = 5
    failures_per_client: int = 20
    window_s: float = 900.0
    lockout_s: float = 900.0


class LoginThrottle:
    """Failed attempts in a sliding window, per account and per client; at the limit, a lockout."""

    def __init__(self, db: Database, limits: ThrottleLimits = ThrottleLimits(), clock: Callable[[], float] = time.time):
        self._db = db
        self.limits = limits
        self._clock = clock

    def retry_after(self, username: str, client: str | None) -> int | None:
        """Whole seconds until this account or client may try again, or None when it may now."""
        now = self._clock()
        with self._db.session() as session:
            until = session.scalar(select(func.max(LoginLockoutRow.locked_until)).where(
                LoginLockoutRow.key.in_(self._keys_of(username, client)), LoginLockoutRow.locked_until > now))
        return math.ceil(until - now) if until is not None else None

    def locked_accounts(self) -> dict[str, float]:
        """Accounts locked out now, with when each lockout ends (seconds since the epoch)."""
        prefix = self._account("")
        with self._db.session() as session:
            rows = session.execute(select(LoginLockoutRow.key, LoginLockoutRow.locked_until).where(
                LoginLockoutRow.key.startswith(prefix, autoescape=True), LoginLockoutRow.locked_until > self._clock())).all()
        return {key.removeprefix(prefix): until for key, until in rows}

    def failed(self, username: str, client: str | None) -> None:
        for _ in range(3):  # another process may create the same lockout row at the same moment
            try:
                self._count_failure(username, client, self._clock())
                return
            except IntegrityError:
                continue

    def succeeded(self, username: str) -> None:
        """A right password clears the account's count; the client's stays (it may be guessing at others)."""
        key = self._account(username)
        with self._db.session() as session, session.begin():
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))
            session.execute(delete(LoginLockoutRow).where(LoginLockoutRow.key == key))

    def _count_failure(self, username: str, client: str | None, now: float) -> None:
        with self._db.session() as session, session.begin():
            # Failures that left the window, and ended lockouts, go first: the tables hold only what still counts.
            session.execute(delete(LoginFailureRow).where(LoginFailureRow.failed_at <= now - self.limits.window_s))
            session.execute(delete(LoginLockoutRow).where(LoginLockoutRow.locked_until <= now))
            for key, limit in self._limits_of(username, client):
                session.add(LoginFailureRow(key=key, failed_at=now))
                session.flush()
                recent = session.scalar(select(func.count()).select_from(LoginFailureRow).where(LoginFailureRow.key == key))
                if recent >= limit:
                    self._lock(session, key, now + self.limits.lockout_s)

    @staticmethod
    def _lock(session, key: str, until: float) -> None:
        lockout = session.get(LoginLockoutRow, key)
        if lockout is None:
            session.add(LoginLockoutRow(key=key, locked_until=until))
        else:
            lockout.locked_until = max(lockout.locked_until, until)
        session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))

    @staticmethod
    def _account(username: str) -> str:
        return f"account:{username}"

    def _keys_of(self, username: str, client: str | None) -> list[str]:
        return [key for key, _ in self._limits_of(username, client)]

    def _limits_of(self, username: str, client: str | None) -> list[tuple[str, int]]:
        keys = [(self._account(username), self.limits.failures_per_account)]
        return keys + ([(f"client:{client}", self.limits.failures_per_client)] if client else [])
