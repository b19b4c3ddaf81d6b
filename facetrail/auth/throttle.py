"""Slowing password guessing: failed logins lock an account, and a client address, for a while.

Counted per API process, in memory: a restart forgets the counts, and several
API processes each allow the limit (a shared store would be needed to count
across them). Both limits are checked before the password is verified, so a
locked-out attacker learns nothing and spends no server time on argon2.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleLimits:
    failures_per_account: int = 5
    failures_per_client: int = 20
    window_s: float = 900.0
    lockout_s: float = 900.0


@dataclass
class _Failures:
    times: deque[float]
    locked_until: float = 0.0


class LoginThrottle:
    """Failed attempts in a sliding window, per account and per client; at the limit, a lockout."""

    def __init__(self, limits: ThrottleLimits = ThrottleLimits(), max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, username: str, client: str | None) -> int | None:
        """Whole seconds until this account or client may try again, or None when it may now."""
        now = self._clock()
        with self._lock:
            waits = [f.locked_until - now for key in self._keys_of(username, client)
                     if (f := self._keys.get(key)) is not None and f.locked_until > now]
        return math.ceil(max(waits)) if waits else None

    def failed(self, username: str, client: str | None) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys_of(username, client):
                self._count(key, now)

    def succeeded(self, username: str) -> None:
        """A right password clears the account's count; the client's stays (it may be guessing at others)."""
        with self._lock:
            self._keys.pop(("account", username), None)

    def _keys_of(self, username: str, client: str | None) -> list[tuple[str, str]]:
        return [("account", username)] + ([("client", client)] if client else [])

    def _limit(self, key: tuple[str, str]) -> int:
        return self.limits.failures_per_account if key[0] == "account" else self.limits.failures_per_client

    def _count(self, key: tuple[str, str], now: float) -> None:
        failures = self._keys.pop(key, None) or _Failures(deque())
        self._keys[key] = failures  # most recently failed last, so eviction drops the stalest
        failures.times.append(now)
        while failures.times and failures.times[0] <= now - self.limits.window_s:
            failures.times.popleft()
        if len(failures.times) >= self._limit(key):
            failures.locked_until = now + self.limits.lockout_s
            failures.times.clear()
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
