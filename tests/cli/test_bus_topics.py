"""A command that needs Kafka's topics stops with one line naming the fix when the broker cannot be reached."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from facetrail.cli.main import cli


@pytest.fixture
def unreachable_kafka_site(write_config, tmp_path):
    return write_config(f"database: {{url: 'sqlite:///{tmp_path / 'ft.db'}'}}\n"
                        "bus: {kind: kafka, bootstrap_servers: '127.0.0.1:9'}\n"
                        f"objects: {{kind: local, path: '{tmp_path / 'evidence'}'}}\n")


def test_the_trajectory_service_on_an_unreachable_broker_stops_with_one_line_naming_the_fix(unreachable_kafka_site):
    result = CliRunner().invoke(cli, ["trajectory", "-c", str(unreachable_kafka_site), "--drain"])

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach Kafka at 127.0.0.1:9")
    assert "`make services-up`" in line and "bus.bootstrap_servers" in line
