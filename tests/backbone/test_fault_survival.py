"""Faults on the deployment path, on the real Kafka and PostgreSQL: camera health that must reach the database,
replays that must not bring deleted data back, crashes that must not lose alerts, outages to ride out.

Sightings are published straight onto the real Kafka (the analysis side is not under test here), so each test
knows exactly which event ids it expects in the database and on the alerts topic.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, text

from facetrail.bus.channels import ALERTS_TOPIC, HEALTH_TOPIC, SIGHTINGS
from facetrail.bus.kafka_bus import KafkaBus, ensure_bus_topics
from facetrail.config import KafkaBusConfig
from facetrail.events import Box, SightingEvent
from facetrail.storage.database import Database
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import EntryRecord
from services_fixtures import ServiceEnv, kafka_service, postgres_service  # noqa: F401  (session fixtures)
from tests.backbone.conftest import facetrail, start_facetrail, stop_facetrail
from tests.backbone.stores import private_database, reset_kafka
from tests.backbone.test_worker_failover import wait_for

pytestmark = pytest.mark.services

HEALTH_WITHIN_S = 15.0


@dataclass(frozen=True)
class Site:
    """A deployment on the real Kafka and this test's own PostgreSQL database (evidence in a local folder)."""

    env: ServiceEnv
    database_url: str
    config: Path
    folder: Path

    def scalar(self, sql: str, **params):
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def rows(self, sql: str, **params) -> list:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()


def write_config(env: ServiceEnv, database_url: str, folder: Path, cameras: list[dict], retention_days: int = 30) -> Path:
    config = {
        "site": "faults",
        "cameras": cameras,
        "analysis": {"fps": 5, "detector": {"backend": "hog"}, "workers": 1},
        "bus": {"kind": "kafka", "bootstrap_servers": env.kafka_bootstrap},
        "objects": {"kind": "local", "path": str(folder / "evidence")},
        "database": {"url": database_url},
        "retention": {"sightings_days": retention_days, "tracks_days": retention_days,
                      "evidence_days": retention_days},
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


CAMERAS = [{"id": "cam-a", "name": "A", "source": "rtsp://127.0.0.1:1/a", "position": {"x": 0, "y": 0}},
           {"id": "cam-b", "name": "B", "source": "rtsp://127.0.0.1:1/b", "position": {"x": 30, "y": 0}}]


@pytest.fixture
def site(kafka_service, postgres_service, tmp_path) -> Iterator[Site]:  # noqa: F811
    reset_kafka(kafka_service)
    with private_database(postgres_service) as url:
        config = write_config(kafka_service, url, tmp_path, CAMERAS)
        Database(url).dispose()  # migrated once, before any process starts
        yield Site(kafka_service, url, config, tmp_path)


@contextmanager
def serving_api(site: Site, username: str, role: str) -> Iterator[tuple[str, str]]:
    """`facetrail api` on the site (its log in api.log), with one user of the role: yields its base URL and the password."""
    import os
    import subprocess
    import sys

    import httpx

    from api.server import free_port
    from api.world import PASSWORD as password
    from services_fixtures import REPO

    subprocess.run([sys.executable, "-m", "facetrail.cli.main", "users", "add", username, "-c", str(site.config),
                    "--role", role, "--password-stdin"], input=password + "\n", text=True, check=True,
                   capture_output=True, cwd=REPO, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    api = start_facetrail("api", "-c", str(site.config), "--port", str(port := free_port()), log=site.folder / "api.log")
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        try:
            return httpx.get(base + "/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answering, 60, "the API")
        yield base, password
    finally:
        stop_facetrail(api)


def enrol(site: Site, count: int) -> list[str]:
    """Watch-list entries made straight in the store (no photos needed); their entry ids."""
    db = Database(site.database_url)
    now = datetime.now(timezone.utc)
    ids = []
    try:
        for i in range(count):
            entry_id = uuid.uuid4().hex
            record = EntryRecord(entry_id=entry_id, display_name=f"Person {i}", watchlist="default",
                                 legal_basis="fault test", image_source="test", enrolled_by="tester",
                                 created_at=now, expires_at=now + timedelta(days=30))
            WatchlistStore(db).add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")
            ids.append(entry_id)
    finally:
        db.dispose()
    return ids


def sightings(entry_ids: list[str], count: int, start: datetime) -> list[SightingEvent]:
    """``count`` passes, spread over the people and both cameras, a minute apart."""
    events = []
    for i in range(count):
        first = start + timedelta(minutes=i)
        events.append(SightingEvent.create(camera_id=CAMERAS[i % 2]["id"], entry_id=entry_ids[i % len(entry_ids)],
                                           first_seen=first, last_seen=first + timedelta(seconds=3), score=0.3,
                                           box=Box(x=0, y=0, w=60, h=60), quality=0.7, final=True))
    return events


def publish(site: Site, events: list[SightingEvent]) -> None:
    bus_config = KafkaBusConfig(kind="kafka", bootstrap_servers=site.env.kafka_bootstrap)
    ensure_bus_topics(bus_config, None)
    bus = KafkaBus(bus_config)
    try:
        SIGHTINGS.publish_many(bus, events)
        bus.flush(30)
    finally:
        bus.close()


def topic_values(env: ServiceEnv, topic: str, timeout_s: float = 20) -> list[bytes]:
    """Every message of a one-partition topic, from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=env.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning()
        end = consumer.end_offsets([partition])[partition]
        values: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        while consumer.position(partition) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in records]
        return values
    finally:
        consumer.close()


def alerted_event_ids(env: ServiceEnv) -> Counter:
    from facetrail.bus.channels import ALERTS

    return Counter(ALERTS.decode(value).sighting.event_id for value in topic_values(env, ALERTS_TOPIC))


def stored_event_ids(site: Site) -> set[str]:
    return {row[0] for row in site.rows("SELECT event_id FROM sightings")}


# ---- 1. camera health reaches the database -------------------------------------------------------------------------

def test_the_health_of_an_unreachable_camera_reaches_the_database_and_the_console_within_15_s(site):
    from browser.test_dashboard import _browser, _chromium, _sign_in

    _chromium()
    with serving_api(site, "olga", "operator") as (base, _), _browser() as browser:
        page = browser.new_page()
        _sign_in(page, base, "olga")
        run = start_facetrail("run", "-c", str(site.config), "--duration", "60", log=site.folder / "run.log")
        try:
            def first_report():
                try:
                    return bool(topic_values(site.env, HEALTH_TOPIC, timeout_s=2))
                except Exception:  # the topic is created by the run itself
                    return False

            wait_for(first_report, 60, "the first camera health report on Kafka")
            reported_at = time.monotonic()
            state = wait_for(lambda: site.scalar("SELECT state FROM camera_health WHERE camera_id = 'cam-a'"),
                             HEALTH_WITHIN_S + 5, "cam-a's health in the database")
            in_database_s = time.monotonic() - reported_at
            shown = page.wait_for_selector('#health tr[data-camera="cam-a"] td:nth-child(2):text-matches("starting|reconnecting")',
                                           timeout=(HEALTH_WITHIN_S + 10) * 1000)  # the console, unreloaded
            in_console_s = time.monotonic() - reported_at
            shown_state = shown.inner_text()
        finally:
            stop_facetrail(run)
    log = (site.folder / "run.log").read_text()
    assert state in {"starting", "reconnecting"} and shown_state in {"starting", "reconnecting"}
    assert in_database_s <= HEALTH_WITHIN_S
    assert in_console_s <= HEALTH_WITHIN_S
    assert "Failed to get metadata" not in log, log[-2000:]


# ---- 5. a replay of the bus does not bring back what retention or erasure removed -----------------------------------

def reset_group(env: ServiceEnv, group: str = "facetrail-trajectory") -> None:
    """Forget the group's offsets, so its next member reads the sightings topic from offset 0 (a replay)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, client_id="facetrail-test-admin")
    try:
        deadline = time.monotonic() + 30
        while True:  # a member that just left may take a moment to be gone
            result = admin.delete_groups([group])
            error = dict(result.items() if isinstance(result, dict) else result)[group]
            if not error or getattr(error, "errno", 0) == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not error or getattr(error, "errno", 0) == 0, f"could not reset {group}: {error}"
    finally:
        admin.close()


def drain(site: Site, config: Path | None = None) -> str:
    return facetrail("trajectory", "-c", str(config or site.config), "--drain").stdout


def test_a_replay_from_offset_0_after_a_retention_sweep_inserts_nothing_and_alerts_nothing(site):
    people = enrol(site, 2)
    now = datetime.now(timezone.utc)
    old = sightings(people, 20, now - timedelta(days=40))  # kept 60 days at first, then the limit becomes 30
    fresh = sightings(people, 10, now - timedelta(hours=2))
    longer = write_config(site.env, site.database_url, site.folder / "..", CAMERAS, retention_days=60)
    publish(site, old + fresh)
    drain(site, longer)
    assert len(stored_event_ids(site)) == 30
    alerted_before = alerted_event_ids(site.env)
    assert set(alerted_before) == {e.event_id for e in old + fresh}
    facetrail("retention", "sweep", "-c", str(site.config))
    assert stored_event_ids(site) == {e.event_id for e in fresh}

    reset_group(site.env)
    out = drain(site)

    assert stored_event_ids(site) == {e.event_id for e in fresh}
    assert alerted_event_ids(site.env) == alerted_before
    assert "20 refused (past retention)" in out


def test_a_replay_from_offset_0_after_an_erasure_inserts_nothing_and_alerts_nothing(site):
    kept, erased = enrol(site, 2)
    events = sightings([kept, erased], 20, datetime.now(timezone.utc) - timedelta(hours=3))
    publish(site, events)
    drain(site)
    alerted_before = alerted_event_ids(site.env)
    assert len(alerted_before) == 20
    facetrail("watchlist", "erase", "Person 1", "-c", str(site.config), "--reason", "fault test")
    assert site.scalar("SELECT count(*) FROM sightings WHERE entry_id = :e", e=erased) == 0
    assert site.scalar("SELECT count(*) FROM erased_entries") == 1
    assert erased not in str(site.rows("SELECT * FROM erased_entries"))  # a keyed hash, never the id

    reset_group(site.env)
    out = drain(site)

    assert site.scalar("SELECT count(*) FROM sightings WHERE entry_id = :e", e=erased) == 0
    assert site.scalar("SELECT count(*) FROM sightings WHERE entry_id = :e", e=kept) == 10
    assert alerted_event_ids(site.env) == alerted_before
    assert "10 refused (erased)" in out


# ---- 4. a crash between storing a batch and stitching it loses no alert --------------------------------------------

def test_a_kill_9_between_storing_a_batch_and_stitching_it_loses_none_of_its_alerts(site):
    import os
    import signal

    people = enrol(site, 4)
    events = sightings(people, 100, datetime.now(timezone.utc) - timedelta(hours=3))
    publish(site, events)
    engine = create_engine(site.database_url)
    blocker = engine.connect()
    blocker.begin()
    blocker.execute(text("LOCK TABLE tracks IN ACCESS EXCLUSIVE MODE"))  # the service blocks on its track write
    service = start_facetrail("trajectory", "-c", str(site.config), log=site.folder / "trajectory.log")
    try:
        # The first batch holds what the first fetch brought (one partition's messages, or all of them): once it is
        # stored, the service blocks on its track write, with that batch stored and not stitched.
        wait_for(lambda: len(stored_event_ids(site)) > 0, 60, "a batch's sightings to be stored")
        time.sleep(2.0)
        os.killpg(service.pid, signal.SIGKILL)
        service.wait()
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
        stop_facetrail(service)
    assert alerted_event_ids(site.env) == Counter()  # nothing went before the crash

    drain(site)

    assert stored_event_ids(site) == {e.event_id for e in events}
    assert set(alerted_event_ids(site.env)) == {e.event_id for e in events}
    assert site.scalar("SELECT count(*) FROM alert_outbox") == 0
    assert site.scalar("SELECT count(*) FROM tracks") >= 4


# ---- 2. outages of PostgreSQL and Kafka are ridden out ---------------------------------------------------------------

OUTAGE_S = 20


def log_lines(path: Path, needle: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if needle in line]


def test_the_trajectory_service_rides_out_20_s_of_postgresql_outage_under_load_losing_nothing(site, figure):
    from services_fixtures import run_services

    people = enrol(site, 6)
    start = datetime.now(timezone.utc) - timedelta(hours=5)
    events = sightings(people, 300, start)
    log = site.folder / "trajectory.log"
    service = start_facetrail("trajectory", "-c", str(site.config), log=log)
    try:
        publish(site, events[:100])
        wait_for(lambda: len(stored_event_ids(site)) == 100, 60, "the first 100 sightings")
        down = run_services("down", "postgres", timeout_s=120)
        assert down.returncode == 0, down.stderr
        stopped_at = time.monotonic()
        publish(site, events[100:200])  # arriving while the database is away
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
        assert service.poll() is None, log.read_text()[-3000:]
        up = run_services("up", "postgres", timeout_s=300)
        assert up.returncode == 0, up.stderr
        back_at = time.monotonic()
        publish(site, events[200:])
        wait_for(lambda: len(stored_event_ids(site)) == 300, 90, "every sighting after the outage")
        figure("postgres_outage_catch_up_s", time.monotonic() - back_at, "s", "300 sightings, 100 during a 20 s outage")
        wait_for(lambda: set(alerted_event_ids(site.env)) == {e.event_id for e in events}, 60, "every alert")
        assert service.poll() is None, log.read_text()[-3000:]
    finally:
        stop_facetrail(service)
        run_services("up", "postgres", timeout_s=300)
    assert site.scalar("SELECT count(*) FROM sightings") == 300  # none lost, none twice (event ids are the keys)
    assert set(alerted_event_ids(site.env)) == {e.event_id for e in events}
    text_of_log = log.read_text()
    assert "Traceback" not in text_of_log
    assert len(log_lines(log, "database unreachable")) == 1, text_of_log[-3000:]
    assert len(log_lines(log, "database reachable again")) == 1, text_of_log[-3000:]
    assert len(text_of_log.splitlines()) <= 6, text_of_log[-3000:]  # a line per state change, not one per retry


def test_the_trajectory_service_rides_out_30_s_of_kafka_outage_with_a_line_per_state_change(site, figure):
    from services_fixtures import run_services

    people = enrol(site, 6)
    events = sightings(people, 200, datetime.now(timezone.utc) - timedelta(hours=5))
    log = site.folder / "trajectory.log"
    service = start_facetrail("trajectory", "-c", str(site.config), log=log)
    try:
        publish(site, events[:100])
        wait_for(lambda: len(stored_event_ids(site)) == 100, 60, "the first 100 sightings")
        down = run_services("down", "kafka", timeout_s=120)
        assert down.returncode == 0, down.stderr
        time.sleep(30)
        assert service.poll() is None, log.read_text()[-3000:]
        up = run_services("up", "kafka", timeout_s=300)
        assert up.returncode == 0, up.stderr
        back_at = time.monotonic()
        publish(site, events[100:])
        wait_for(lambda: len(stored_event_ids(site)) == 200, 120, "every sighting after the outage")
        figure("kafka_outage_catch_up_s", time.monotonic() - back_at, "s", "trajectory service, 30 s broker outage")
        wait_for(lambda: set(alerted_event_ids(site.env)) == {e.event_id for e in events}, 60, "every alert")
    finally:
        stop_facetrail(service)
        run_services("up", "kafka", timeout_s=300)
    assert site.scalar("SELECT count(*) FROM sightings") == 200
    lines = log.read_text().splitlines()
    assert not [line for line in lines if "Traceback" in line]
    assert len(lines) <= 6, "\n".join(lines[:40])


# ---- 6. smaller faults ----------------------------------------------------------------------------------------------

def test_audit_verify_tells_an_unreachable_database_from_a_broken_chain(site):
    from sqlalchemy.engine import make_url

    facetrail("audit", "verify", "-c", str(site.config))  # intact: exit 0
    away = make_url(site.database_url).set(port=1).render_as_string(hide_password=False)
    config = write_config(site.env, away, site.folder / "..", CAMERAS)
    result = facetrail("audit", "verify", "-c", str(config), check=False)
    assert result.returncode == 69 and "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


# ---- 3. reprocess progress is keyed by what defines the result; a failed file stops nothing else -------------------

@pytest.fixture
def recorded_site(site, demo_scenario):
    facetrail("watchlist", "import", str(demo_scenario.watchlist_dir), "-c", str(site.config), "--legal-basis",
              "fault test", "--image-source", "demo scenario", "--enrolled-by", "faults")
    return site


def audit_actions(site: Site, action: str) -> list[dict]:
    import json

    return [json.loads(details) for (details,) in
            site.rows("SELECT details FROM audit_log WHERE action = :a ORDER BY seq", a=action)]


def test_one_recording_reprocessed_with_another_start_is_new_work_not_already_done(recorded_site, demo_scenario):
    site, camera = recorded_site, demo_scenario.cameras[0]
    first = camera.starts_at
    facetrail("reprocess", str(camera.clip), "-c", str(site.config), "--camera", "cam-a", "--start",
              first.isoformat(), "--no-stitch")
    later = facetrail("reprocess", str(camera.clip), "-c", str(site.config), "--camera", "cam-a", "--start",
                      (first + timedelta(hours=1)).isoformat(), "--no-stitch")
    assert "already reprocessed" not in later.stdout
    again = facetrail("reprocess", str(camera.clip), "-c", str(site.config), "--camera", "cam-a", "--start",
                      first.isoformat(), "--no-stitch")
    assert "already reprocessed" in again.stdout
    assert site.scalar("SELECT count(*) FROM reprocess_progress WHERE completed") == 2


def test_an_unreadable_file_in_a_batch_is_reported_the_others_are_reprocessed_and_the_run_exits_non_zero(
        recorded_site, demo_scenario):
    site = recorded_site
    broken = site.folder / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    clips = [str(demo_scenario.cameras[0].clip), str(broken), str(demo_scenario.cameras[1].clip)]
    result = facetrail("reprocess", *clips, "-c", str(site.config), "--camera", "cam-a", "--no-stitch", check=False)
    assert result.returncode == 1 and "not a readable video" in result.stderr and "Traceback" not in result.stderr
    analysed = [line for line in result.stdout.splitlines() if "frames analysed" in line]
    assert len(analysed) == 2, result.stdout
    [stop] = audit_actions(site, "reprocess.stop")
    assert [("error" in f) for f in stop["files"]] == [False, True, False]
    # Resumed without --again: the two done files are skipped, the broken one is still reported, exit non-zero.
    resumed = facetrail("reprocess", *clips, "-c", str(site.config), "--camera", "cam-a", "--no-stitch", check=False)
    assert resumed.returncode == 1 and resumed.stdout.count("already reprocessed") == 2


def test_a_reprocess_that_fails_midway_leaves_a_closing_audit_record(recorded_site, demo_scenario):
    site = recorded_site
    (site.folder / "evidence").mkdir(exist_ok=True)
    (site.folder / "evidence" / "evidence").write_bytes(b"")  # a file where crops' folders go: every crop fails
    result = facetrail("reprocess", str(demo_scenario.cameras[0].clip), "-c", str(site.config), "--camera",
                       "cam-a", "--no-stitch", check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(audit_actions(site, "reprocess.start")) == len(audit_actions(site, "reprocess.stop")) == 1
    [stop] = audit_actions(site, "reprocess.stop")
    assert "ObjectStoreError" in stop["failed"]


def test_a_truncated_recording_has_its_readable_part_analysed(recorded_site, demo_scenario):
    site, clip = recorded_site, demo_scenario.cameras[0].clip
    truncated = site.folder / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:int(clip.stat().st_size * 0.6)])
    result = facetrail("reprocess", str(truncated), "-c", str(site.config), "--camera", "cam-a", check=False)
    assert result.returncode == 1 and "readable part was analysed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stdout.splitlines() if "frames analysed" in line]
    assert int(line.split(": ")[1].split()[0]) > 0
    [stop] = audit_actions(site, "reprocess.stop")
    assert "damaged" in stop["files"][0] and str(truncated) not in str(stop)


def test_run_rides_out_30_s_of_kafka_outage_with_few_log_lines(site):
    from services_fixtures import run_services

    log = site.folder / "run.log"
    run = start_facetrail("run", "-c", str(site.config), "--duration", "75", log=log)
    try:
        wait_for(lambda: site.scalar("SELECT count(*) FROM camera_health") == 2, 40, "both cameras' health")
        before = len(log.read_text().splitlines())
        down = run_services("down", "kafka", timeout_s=120)
        assert down.returncode == 0, down.stderr
        time.sleep(30)
        up = run_services("up", "kafka", timeout_s=300)
        assert up.returncode == 0, up.stderr
        back = datetime.now(timezone.utc)
        wait_for(lambda: site.scalar("SELECT min(updated_at) FROM camera_health") > back.replace(tzinfo=None), 40,
                 "health reports after the outage")
        assert run.poll() is None, log.read_text()[-3000:]
    finally:
        stop_facetrail(run)
        run_services("up", "kafka", timeout_s=300)
    lines = log.read_text().splitlines()
    # The cameras are unreachable on purpose (their reconnect lines are theirs); what the outage itself logs is a
    # line per client and state change: lost, then working again.
    outage = [line for line in lines[before:] if '"logger": "kafka' in line or "bus." in line]
    assert not [line for line in lines if "Traceback" in line]
    assert len(outage) <= 10, "\n".join(outage[:60])


def test_run_rides_out_20_s_of_postgresql_outage_without_a_traceback(site):
    from services_fixtures import run_services

    log = site.folder / "run.log"
    run = start_facetrail("run", "-c", str(site.config), "--duration", "70", log=log)
    try:
        wait_for(lambda: site.scalar("SELECT count(*) FROM camera_health") == 2, 40, "both cameras' health")
        down = run_services("down", "postgres", timeout_s=120)
        assert down.returncode == 0, down.stderr
        time.sleep(OUTAGE_S)
        assert run.poll() is None, log.read_text()[-3000:]
        up = run_services("up", "postgres", timeout_s=300)
        assert up.returncode == 0, up.stderr
        back = datetime.now(timezone.utc)
        wait_for(lambda: site.scalar("SELECT min(updated_at) FROM camera_health") > back.replace(tzinfo=None), 40,
                 "health recorded after the outage")
        # Each part retries on its own backoff (at most 5 s apart): every one that lost the database finds it again.
        wait_for(lambda: len(log_lines(log, "database unreachable")) == len(log_lines(log, "database reachable again")),
                 30, "every part of `run` that lost the database to reconnect")
        assert run.poll() is None, log.read_text()[-3000:]
    finally:
        stop_facetrail(run)
        run_services("up", "postgres", timeout_s=300)
    text_of_log = log.read_text()
    assert "Traceback" not in text_of_log
    assert len(log_lines(log, "database unreachable")) >= 1
    assert len(log_lines(log, "database unreachable")) == len(log_lines(log, "database reachable again"))


def test_the_api_answers_503_while_postgresql_is_away_and_metrics_count_the_outage(site):
    import httpx

    from services_fixtures import run_services

    try:
        with serving_api(site, "olga", "operator") as (base, password):
            token = httpx.post(base + "/api/v1/login", json={"username": "olga", "password": password}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(base + "/metrics", headers=headers).status_code == 200
            assert run_services("down", "postgres", timeout_s=120).returncode == 0
            away = [httpx.get(base + "/metrics", headers=headers) for _ in range(5)]
            assert {r.status_code for r in away} == {503} and away[0].headers["Retry-After"] == "5"
            assert run_services("up", "postgres", timeout_s=300).returncode == 0
            back = wait_for(lambda: (r := httpx.get(base + "/metrics", headers=headers)).status_code == 200 and r, 30,
                            "the API to answer again")
            assert "facetrail_database_outages_total 1.0" in back.text
    finally:
        run_services("up", "postgres", timeout_s=300)
    log = site.folder / "api.log"
    text_of_log = log.read_text()
    assert "Traceback" not in text_of_log
    assert len(log_lines(log, "database unreachable")) == len(log_lines(log, "database reachable again")) == 1
