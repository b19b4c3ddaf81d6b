"""Done-when of issue 28: a job over several recordings on the real services (Kafka, MinIO, PostgreSQL), two worker
processes, one SIGKILLed mid-segment, ends with exactly the sightings a single-process `facetrail reprocess` gives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from services_fixtures import kafka_service, minio_service, postgres_service  # noqa: F401  (session fixtures)
from tests.archive.conftest import REPO, START, facetrail, named_sightings, write_site

pytestmark = [pytest.mark.e2e, pytest.mark.services]


def _worker(site: Path, log: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "facetrail.cli.main", "jobs", "work", "-c", str(site), *extra],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"}, start_new_session=True)


def _mid_segment(url: str, pid: int) -> str | None:
    """A segment the worker with this pid holds and has checkpointed inside (past its lead-in)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT segment_id FROM archive_segments WHERE state = 'leased' AND "
                                     "lease_owner LIKE :owner AND checkpoint_s IS NOT NULL AND checkpoint_s > start_s"),
                                {"owner": f"%:{pid}"}).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def backbone_site(kafka_service, minio_service, postgres_service, demo_scenario, tmp_path):  # noqa: F811
    """A deployment on the real services: Kafka carries the sightings, MinIO keeps the evidence, PostgreSQL the rest
    and the leases."""
    from tests.backbone.stores import empty_bucket, private_bucket, private_database, reset_kafka

    reset_kafka(kafka_service)
    bucket = private_bucket()
    objects = {"kind": "minio", "endpoint": minio_service.minio_endpoint, "access_key": minio_service.minio_access_key,
               "secret_key": minio_service.minio_secret_key, "bucket": bucket}
    bus = {"kind": "kafka", "bootstrap_servers": kafka_service.kafka_bootstrap}
    with private_database(postgres_service) as url:
        yield write_site(tmp_path / "site", demo_scenario, url, objects=objects, bus=bus), url
    empty_bucket(minio_service, bucket)


def test_a_job_shared_by_two_workers_one_killed_mid_segment_stores_exactly_what_reprocess_does(
        backbone_site, clips, reprocessed, tmp_path):
    site, url = backbone_site
    made = facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "warrant 2026/114",
                     "--start", START, *clips)
    job_id = re.search(r"job ([0-9a-f]{16})", made.stdout).group(1)  # type: ignore[union-attr]
    doomed = _worker(site, tmp_path / "doomed.log")
    survivor = _worker(site, tmp_path / "survivor.log", "--until-idle")
    try:
        killed = None
        deadline = time.monotonic() + 240
        while killed is None and doomed.poll() is None and time.monotonic() < deadline:
            if _mid_segment(url, doomed.pid) is not None:
                # frozen first, so that what the database says is still true when the SIGKILL lands
                os.killpg(doomed.pid, signal.SIGSTOP)
                killed = _mid_segment(url, doomed.pid)
                if killed is None:
                    os.killpg(doomed.pid, signal.SIGCONT)  # it finished that segment meanwhile: wait for the next
            time.sleep(0.05)
        assert killed is not None, f"the worker never held a segment mid-way:\n{(tmp_path / 'doomed.log').read_text()}"
        # archive work yields the cores to live cameras: its workers run niced
        assert os.getpriority(os.PRIO_PROCESS, doomed.pid) > os.getpriority(os.PRIO_PROCESS, 0)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
        assert survivor.wait(timeout=400) == 0, (tmp_path / "survivor.log").read_text()
    finally:
        for process in (doomed, survivor):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    survivor_log = (tmp_path / "survivor.log").read_text()
    assert f"segment {killed}: done" in survivor_log and "resumed from the checkpoint" in survivor_log, survivor_log
    job = json.loads(facetrail("jobs", "show", job_id, "-c", str(site), "--format", "json").stdout)
    assert job["state"] == "done" and job["progress"] == 1.0 and job["segments_total"] >= 12
    assert next(s for s in job["segments"] if s["segment_id"] == killed)["attempts"] == 2
    facetrail("trajectory", "-c", str(site), "--drain")
    assert named_sightings(site) == reprocessed
    stored = json.loads(facetrail("sightings", "-c", str(site), "--format", "json").stdout)
    assert {s["status"] for s in stored} == {"candidate"}  # reviewed by people like live matches


def test_running_the_same_search_again_duplicates_no_sighting(backbone_site, clips, reprocessed):
    site, _ = backbone_site
    for _ in range(2):
        facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "case 7", "--start", START,
                  "--work", *clips[:1])
    facetrail("trajectory", "-c", str(site), "--drain")
    first_clip = [s for s in reprocessed if s[2] < "2026-03-01T12:00:20"]
    assert named_sightings(site) == first_clip
