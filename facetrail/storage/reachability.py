"""Whether the database can be reached, as a long-running stage sees it: outages are ridden out, not fatal.

A stage that finds the database away keeps what it was doing (the trajectory service its batch), says so in
one log line, tries again with a growing pause (0.5 s doubling to 5 s), and says so again, once, when the
database answers. ``DatabaseLink.state`` is what /metrics and health reports show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

DATABASE_AWAY = (DBAPIError,)
"""What a statement raises when the database is away; ``is_unreachable`` tells which of them mean that."""

_FIRST_PAUSE_S, _LONGEST_PAUSE_S = 0.5, 5.0
T = TypeVar("T")


def _sqlstate(exc: BaseException) -> str | None:
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


def is_unreachable(exc: BaseException) -> bool:
    """A lost or refused connection, or a server shutting down: worth waiting out (not a bad statement)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    state = _sqlstate(exc)
    # No SQLSTATE: the client could not connect at all; 08: connection exception; 57P: the server stopping.
    return state is None or state.startswith("08") or state.startswith("57P")


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class DatabaseLink:
    """The database as one stage sees it: 'up' or 'away' since when, with the pause before the next try."""

    def __init__(self, who: str, meanwhile: str = "holding the work in hand and retrying with backoff"):
        self._who, self._meanwhile = who, meanwhile
        self.away_since: float | None = None
        self.outages = 0
        self._pause_s = _FIRST_PAUSE_S
        self._next_try = 0.0

    @property
    def state(self) -> str:
        return "up" if self.away_since is None else "away"

    def lost(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self.away_since is None:
            self.away_since, self._pause_s = now, _FIRST_PAUSE_S
            self.outages += 1
            log.warning("%s: database unreachable (%s); %s", self._who, _reason(exc), self._meanwhile)
        else:
            self._pause_s = min(self._pause_s * 2, _LONGEST_PAUSE_S)
        self._next_try = now + self._pause_s

    def back(self) -> None:
        if self.away_since is not None:
            log.warning("%s: database reachable again after %.1f s; carrying on", self._who,
                        time.monotonic() - self.away_since)
            self.away_since = None

    def due(self) -> bool:
        """Whether the next try may go now."""
        return time.monotonic() >= self._next_try

    def wait_s(self) -> float:
        return max(0.0, self._next_try - time.monotonic())


def ride_out(call: Callable[[], T], link: DatabaseLink, patience_s: float) -> T:
    """``call()``, tried again while the database is unreachable, for up to ``patience_s``; then its error."""
    given_up_at = time.monotonic() + patience_s
    while True:
        try:
            result = call()
        except DATABASE_AWAY as exc:
            if not is_unreachable(exc) or time.monotonic() >= given_up_at:
                raise
            link.lost(exc)
            time.sleep(link.wait_s())
            continue
        link.back()
        return result
