"""scripts/services: the real PostgreSQL, and what the script promises about credentials and addresses."""

from __future__ import annotations

import os
import socket
import stat
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from services_fixtures import ENV_FILE, REPO, run_services

pytestmark = pytest.mark.services


def test_postgres_answers_as_the_facetrail_role_on_the_facetrail_database(postgres_service):
    assert postgres_service.database_url.startswith("postgresql+psycopg://facetrail:")
    engine = create_engine(postgres_service.database_url)
    with engine.connect() as conn:
        user, database = conn.execute(text("SELECT current_user, current_database()")).one()
        conn.execute(text("CREATE TEMP TABLE probe (n int)"))
        conn.execute(text("INSERT INTO probe VALUES (7)"))
        assert conn.execute(text("SELECT n FROM probe")).scalar_one() == 7
    engine.dispose()
    assert (user, database) == ("facetrail", "facetrail")


def test_postgres_refuses_a_wrong_password(postgres_service):
    url = make_url(postgres_service.database_url).set(password="wrong-password")
    engine = create_engine(url)
    with pytest.raises(OperationalError, match="password authentication failed"):
        with engine.connect():
            pass
    engine.dispose()


def test_generated_credentials_are_random_and_readable_by_the_owner_only(minio_service, postgres_service):
    secrets = (REPO / "var" / "services" / "secrets")
    for path in (ENV_FILE, secrets):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in secrets.read_text().splitlines())
    assert {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "PG_SUPER_PASSWORD", "PG_APP_PASSWORD"} <= set(values)
    assert all(len(values[name]) >= 32 for name in ("MINIO_ROOT_PASSWORD", "PG_SUPER_PASSWORD", "PG_APP_PASSWORD"))
    assert len(set(values.values())) == len(values)
    assert minio_service.minio_secret_key == values["MINIO_ROOT_PASSWORD"]


def _listening_ports_on_any_address() -> set[int]:
    """TCP ports bound to a wildcard or a non-loopback address, read from /proc/net/tcp{,6}."""
    exposed = set()
    for table, loopback in (("/proc/net/tcp", ("0100007F",)),
                            ("/proc/net/tcp6", ("00000000000000000000000001000000", "0000000000000000FFFF00000100007F"))):
        with open(table) as handle:
            for row in handle.read().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, port = local.split(":")
                if state == "0A" and address not in loopback:
                    exposed.add(int(port, 16))
    return exposed


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, default))


def test_every_service_listens_on_loopback_only(kafka_service, minio_service, postgres_service, mosquitto_service):
    ports = {_port("FACETRAIL_KAFKA_PORT", 19092), _port("FACETRAIL_KAFKA_CONTROLLER_PORT", 19093),
             _port("FACETRAIL_MINIO_PORT", 19000), _port("FACETRAIL_PG_PORT", 15432), _port("FACETRAIL_MQTT_PORT", 11883)}
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    assert not ports & _listening_ports_on_any_address()


def test_up_again_finds_everything_running_and_returns_within_seconds(kafka_service, minio_service, postgres_service,
                                                                      mosquitto_service):
    started = time.monotonic()
    result = run_services("up", timeout_s=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10
    assert result.stdout.count("already running") == 4
    assert run_services("status", timeout_s=60).returncode == 0


def test_down_stops_the_minio_that_up_started_whatever_cache_folder_it_is_given(minio_service, tmp_path):
    import subprocess

    host, port = minio_service.minio_endpoint.split(":")
    elsewhere = {**os.environ, "FACETRAIL_SERVICES_CACHE": str(tmp_path / "another-cache")}
    try:
        down = subprocess.run(["bash", str(REPO / "scripts" / "services"), "down", "minio"], cwd=REPO, env=elsewhere,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert down.returncode == 0, down.stderr
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=2).close()
    finally:
        assert run_services("up", "minio", timeout_s=300).returncode == 0  # for the tests after this one


def test_an_unknown_service_name_is_one_clear_error():
    result = run_services("up", "redis", timeout_s=60)
    assert result.returncode != 0
    assert result.stderr.strip() == "[services] error: unknown service 'redis' (known: kafka minio postgres mosquitto)"


def _mqtt_connect_reason(env, password: str):
    """The broker's answer to a CONNECT with this password (paho's reason code)."""
    import queue

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    answers: queue.Queue = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"services-test-{time.monotonic_ns()}")
    client.username_pw_set(env.mqtt_username, password)
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.put(reason)
    client.connect(env.mqtt_host, env.mqtt_port)
    client.loop_start()
    try:
        return answers.get(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_mosquitto_admits_the_generated_password_and_refuses_any_other(mosquitto_service):
    assert len(mosquitto_service.mqtt_password) >= 32
    assert not _mqtt_connect_reason(mosquitto_service, mosquitto_service.mqtt_password).is_failure
    assert _mqtt_connect_reason(mosquitto_service, "wrong-password").is_failure
