"""Property test of every documented operation with schemathesis: whatever the input, never a 5xx.

Beyond what the schema allows, the run mixes in the calendar's edges (year 1 and
9999, with offsets that push them past the representable range) wherever a
date-time goes, and NaN or +-Infinity for a field of every JSON body: Python's
JSON parser accepts them though JSON has no such numbers.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from facetrail.api.app import create_app  # noqa: E402
from facetrail.auth.accounts import Accounts  # noqa: E402
from facetrail.storage.user_store import UserStore  # noqa: E402

from .world import PASSWORD, populated_world  # noqa: E402

_ROOT = tempfile.TemporaryDirectory(prefix="facetrail-fuzz-")
WORLD = populated_world(Path(_ROOT.name), datetime.now(timezone.utc) - timedelta(hours=1))
APP = create_app(WORLD.config, live_alerts=False)
TOKEN = Accounts(UserStore(WORLD.db)).login("admin1", PASSWORD).token

# The stream never ends and logout would revoke the token every other case uses.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path_regex=r"(/alerts/stream|/logout)$")

EXTREME_TIMES = ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00")
NON_FINITE = (float("nan"), float("inf"), float("-inf"))
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)).map(
    lambda offset: timezone(timedelta(minutes=offset // timedelta(minutes=1))))
schemathesis.openapi.format("date-time", st.one_of(
    st.sampled_from(EXTREME_TIMES), st.datetimes(timezones=OFFSETS).map(lambda t: t.isoformat())))


@schema.hook
def flatmap_body(_context, body):
    """As generated, or with one field of a JSON object made NaN or +-Infinity (sent as raw bytes: JSON cannot say it)."""
    if not isinstance(body, dict) or not body:
        return st.just(body)
    poisoned = st.tuples(st.sampled_from(sorted(body)), st.sampled_from(NON_FINITE)).map(
        lambda field: json.dumps({**body, field[0]: field[1]}).encode())
    return st.one_of(st.just(body), poisoned)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case):
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
