"""`facetrail run` on Kafka stops cleanly: a stop the operator asked for logs no error."""

from __future__ import annotations

import secrets

import pytest

from tests.backbone.conftest import facetrail
from tests.backbone.stores import reset_kafka

pytestmark = pytest.mark.services


@pytest.fixture
def prefix(backbone):
    prefix = f"stop{secrets.token_hex(4)}."
    yield prefix
    reset_kafka(backbone.env, prefix)


def test_a_short_run_on_kafka_stops_without_logging_an_error(backbone, demo_scenario, prefix):
    site = backbone.site(demo_scenario, {c.id: str(c.clip) for c in demo_scenario.cameras}, enrol=False,
                         topic_prefix=prefix)

    result = facetrail("run", "-c", str(site), "--duration", "3", timeout=180)

    errors = [line for line in result.stderr.splitlines() if '"level": "error"' in line or "Traceback" in line]
    assert errors == []
    assert "on 2 worker process(es)" in result.stderr
