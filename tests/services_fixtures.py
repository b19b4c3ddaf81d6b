"""Session fixtures that bring up the real Kafka, MinIO and PostgreSQL through scripts/services.

Use them from a conftest or a test module with
``from services_fixtures import kafka_service  # noqa: F401`` (likewise ``minio_service``,
``postgres_service``, ``mosquitto_service``). When a bring-up fails, every test that needs the service fails with
the script's own error message; only FACETRAIL_SKIP_SERVICES=1 turns that into a skip, for
quick local runs. A service this session started is stopped when the session ends; one that
was already running is left running.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "services"
ENV_FILE = REPO / "var" / "services" / "env"

# The first bring-up on a bare machine builds MinIO from source: minutes on two cores.
UP_TIMEOUT_S = 1800


@dataclass(frozen=True)
class ServiceEnv:
    """What scripts/services wrote to var/services/env, typed."""

    kafka_bootstrap: str
    minio_endpoint: str
    minio_access_key: str
    minio_secret_key: str
    database_url: str
    mqtt_host: str = ""
    mqtt_port: int = 0
    mqtt_username: str = ""
    mqtt_password: str = ""


def run_services(*args: str, timeout_s: float = UP_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s, stdin=subprocess.DEVNULL)


def read_service_env(path: Path = ENV_FILE) -> ServiceEnv:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return ServiceEnv(
        kafka_bootstrap=values["FACETRAIL_KAFKA_BOOTSTRAP"],
        minio_endpoint=values["FACETRAIL_MINIO_ENDPOINT"],
        minio_access_key=values["FACETRAIL_MINIO_ACCESS_KEY"],
        minio_secret_key=values["FACETRAIL_MINIO_SECRET_KEY"],
        database_url=values["FACETRAIL_DATABASE_URL"],
        mqtt_host=values.get("FACETRAIL_MQTT_HOST", ""),
        mqtt_port=int(values.get("FACETRAIL_MQTT_PORT", "0")),
        mqtt_username=values.get("FACETRAIL_MQTT_USERNAME", ""),
        mqtt_password=values.get("FACETRAIL_MQTT_PASSWORD", ""),
    )


def _service(name: str):
    if os.environ.get("FACETRAIL_SKIP_SERVICES") == "1":
        pytest.skip(f"FACETRAIL_SKIP_SERVICES=1: {name} tests skipped on request")
    was_running = run_services("status", name, timeout_s=60).returncode == 0
    try:
        result = run_services("up", name)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/services up {name} did not finish within {UP_TIMEOUT_S}s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"scripts/services up {name} failed (exit {result.returncode}):\n"
                    f"{result.stderr.strip() or result.stdout.strip()}", pytrace=False)
    yield read_service_env()
    if not was_running:
        run_services("down", name, timeout_s=120)


@pytest.fixture(scope="session")
def kafka_service():
    yield from _service("kafka")


@pytest.fixture(scope="session")
def minio_service():
    yield from _service("minio")


@pytest.fixture(scope="session")
def postgres_service():
    yield from _service("postgres")


@pytest.fixture(scope="session")
def mosquitto_service():
    yield from _service("mosquitto")
