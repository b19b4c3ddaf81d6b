"""Property test of every documented operation with schemathesis: whatever the input, never a 5xx."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

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


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case):
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
