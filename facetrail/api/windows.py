"""Every list route is paginated and bounded in time; these dependencies enforce it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from facetrail.api.schemas import Window

DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=31)
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
# Times outside this range name no recording, and near year 1 or 9999 the window arithmetic would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)


def invalid(where: str, name: str, message: str, value=None) -> RequestValidationError:
    """A 422 in FastAPI's own shape, so every invalid input reads the same."""
    return RequestValidationError([{"type": "value_error", "loc": (where, name), "msg": message, "input": value}])


def aware(value: datetime | None, name: str) -> datetime | None:
    """A query time as UTC, or a 422 naming the field: without a timezone, or outside 1970-9000."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid("query", name, "give a timezone, e.g. 2026-01-01T09:00:00Z", value.isoformat())
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 lies before the first representable instant
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise invalid("query", name, f"give a time between {EARLIEST.year} and {LATEST.year}", value.isoformat())
    return utc


def page(
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> tuple[int, int]:
    return limit, offset


def time_window(
    since: datetime | None = Query(None, description="ISO 8601 with timezone; default: 24 h before `until`"),
    until: datetime | None = Query(None, description="ISO 8601 with timezone; default: now"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> Window:
    since, until = aware(since, "since"), aware(until, "until")
    if until is None:
        until = datetime.now(timezone.utc) if since is None else min(since + DEFAULT_SPAN, datetime.now(timezone.utc))
    if since is None:
        since = until - DEFAULT_SPAN
    if until < since:
        raise invalid("query", "until", "until is before since", until.isoformat())
    if until - since > MAX_SPAN:
        raise invalid("query", "since", f"the window may span at most {MAX_SPAN.days} days", since.isoformat())
    return Window(since=since, until=until, limit=limit, offset=offset)
