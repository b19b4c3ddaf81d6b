"""Refused requests on the audit log, without letting a flood of them grow it without bound or bury real records.

The first refusal of a client on a route (by action: access.refused, login.throttled) is recorded at once, as it
always was. Repeats from that client on that route within `window_s` are only counted; when the window ends (at the
next refusal, or the API's periodic flush, or shutdown) one `<action>.repeated` row records how many there were,
from when until when, and who they claimed to be. An anonymous flood thus adds two rows a window per client and route,
and the open windows are bounded too: beyond `max_windows`, further clients share one overflow window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from facetrail.audit.log import AuditLog

WINDOW_S = 60.0
MAX_WINDOWS = 10_000
MAX_NAMES = 20  # distinct actors or subjects listed in a repeated row
_Key = tuple[str, str, str, str]


@dataclass
class _Window:
    opened: float
    first_at: datetime
    last_at: datetime
    actors: set[str] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)
    repeats: int = 0


@dataclass(frozen=True)
class _Row:
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


class RefusalTally:
    def __init__(self, audit: AuditLog, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic,
                 max_windows: int = MAX_WINDOWS):
        self._audit, self.window_s, self._clock, self.max_windows = audit, window_s, clock, max_windows
        self._open: dict[_Key, _Window] = {}
        self._lock = threading.Lock()

    @property
    def open_windows(self) -> int:
        return len(self._open)

    def refused(self, actor: str, action: str, subject: str, details: dict[str, Any], route: str | None = None) -> None:
        """One refusal: recorded now if it opens a window for its client and route, else counted."""
        key: _Key = (action, str(details.get("client")), route or subject, str(details.get("status", "")))
        now, wall = self._clock(), datetime.now(timezone.utc)
        with self._lock:
            rows = self._close_due(now)
            window = self._open.get(key)
            if window is None and len(self._open) >= self.max_windows:
                key = (action, "*", "*", "*")  # the overflow window: counted, never a row each
                window = self._open.setdefault(key, _Window(now, wall, wall))
            if window is None:
                self._open[key] = _Window(now, wall, wall)
                rows.append(_Row(actor, action, subject, details))
            else:
                window.repeats += 1
                window.last_at = wall
                _note(window.actors, actor)
                _note(window.subjects, subject)
        self._write(rows)

    def flush(self, everything: bool = False) -> int:
        """Write the rows of windows that have ended (all of them with `everything`); returns how many."""
        with self._lock:
            rows = self._close_due(float("inf") if everything else self._clock())
        self._write(rows)
        return len(rows)

    def _close_due(self, now: float) -> list[_Row]:
        due = [key for key, window in self._open.items() if now - window.opened >= self.window_s]
        rows = []
        for key in due:
            window = self._open.pop(key)
            if window.repeats:
                rows.append(_repeated(key, window, self.window_s))
        return rows

    def _write(self, rows: list[_Row]) -> None:
        for row in rows:
            self._audit.record(row.actor, row.action, row.subject, row.details)


def _note(names: set[str], name: str) -> None:
    if len(names) <= MAX_NAMES:
        names.add(name)


def _one_or_several(names: set[str]) -> str:
    return next(iter(names)) if len(names) == 1 else "*"


def _repeated(key: _Key, window: _Window, window_s: float) -> _Row:
    action, client, route, status = key
    details: dict[str, Any] = {"count": window.repeats, "from": window.first_at.isoformat(),
                               "until": window.last_at.isoformat(), "window_s": window_s, "client": client,
                               "route": route, "status": status}
    for name, names in (("actors", window.actors), ("subjects", window.subjects)):
        if len(names) > 1:
            details[name] = sorted(names)[:MAX_NAMES]
    return _Row(_one_or_several(window.actors), f"{action}.repeated", _one_or_several(window.subjects), details)
