"""Passers-by who are on no watch-list leave no trace anywhere: only counts.

Real photos of people nobody enrolled walk past a camera, through the real
analyser (HOG detector, dlib embedder, matcher) and the worker's publisher, into
a real SQLite bus, object store and database, with every log at DEBUG. Then
every store is scanned. Whatever a future change starts keeping about an
unmatched face (a row, an object, a bus message, a logged box) fails this test.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import timedelta

from sqlalchemy import func, inspect, select, table

from facetrail.bus.channels import HEALTH_TOPIC
from facetrail.health import CameraHealth
from facetrail.publisher import SightingPublisher
from facetrail.storage.health_store import HealthStore
from facetrail.storage.models import Base

from .conftest import CAMERA, T0, walk

PASSERS_BY = ("biden.jpg", "grace_hopper.jpg", "astronaut.png")
COUNT_FIELDS = {"faces_detected", "matched_passes", "unmatched_passes", "analysed_fps", "reconnects", "lag_s"}


def row_counts(site) -> dict[str, int]:
    with site.db.session() as session:
        return {name: session.scalar(select(func.count()).select_from(table(name)))
                for name in inspect(site.db.engine).get_table_names()}


def bus_messages(site) -> list[tuple[str, str, bytes]]:
    """Every message on every topic, read from the bus file itself."""
    with sqlite3.connect(site.config.bus.path) as conn:
        return conn.execute("SELECT topic, key, value FROM messages ORDER BY offset").fetchall()


def mentions_box(text: str, box) -> bool:
    numbers = set(re.findall(r"\d+", text))
    return {str(box.x), str(box.y), str(box.w)} <= numbers or {str(box.x), str(box.y), str(box.h)} <= numbers


def test_unenrolled_passers_by_leave_nothing_but_counts(site, photo_path, head_patch, detector, embedder, caplog):
    site.enrol(photo_path("obama.jpg"), "Obama", detector=detector, embedder=embedder)
    tables_before, objects_before = row_counts(site), sorted(site.objects.keys())
    audit_before = site.audit.count()
    frames = [f for i, name in enumerate(PASSERS_BY)
              for f in walk(head_patch(name), T0 + timedelta(minutes=i), first_index=100 * i)]
    boxes = [d for frame in frames for d in detector.detect(frame.image)]
    assert len(boxes) >= len(frames) - 1, "precondition: the passers-by's faces are detected"

    with caplog.at_level(logging.DEBUG):
        analyser = site.analyse(frames, detector, embedder)
        publisher = SightingPublisher(site.bus, site.objects)
        counters = analyser.counters
        publisher.report_health(CameraHealth(camera_id=CAMERA, state="ok", analysed_fps=5.0, reported_at=frames[-1].captured_at,
                                             faces_detected=counters.faces_detected, matched_passes=counters.matched_passes,
                                             unmatched_passes=counters.unmatched_passes))
        for _, _, value in [m for m in bus_messages(site) if m[0] == HEALTH_TOPIC]:
            HealthStore(site.db).record(CameraHealth.model_validate_json(value))

    # They were seen, embedded (several shots each, and their looks followed by the tracker) and compared:
    # counted, and nothing else. Once their passes ended the analyser holds nothing of them, not even in memory.
    assert counters.embeddings >= 2 * len(PASSERS_BY)
    assert analyser.open_passes == 0
    assert (counters.unmatched_passes, counters.matched_passes) == (len(PASSERS_BY), 0)

    # Database: no table gained a row, except the camera's health counts.
    tables_after = row_counts(site)
    assert tables_after.keys() >= {m.name for m in Base.metadata.sorted_tables}
    assert {t: n for t, n in tables_after.items() if n != tables_before[t]} == {"camera_health": 1}
    [health] = HealthStore(site.db).all()
    assert health.unmatched_passes == len(PASSERS_BY) and health.faces_detected == counters.faces_detected
    assert site.audit.count() == audit_before

    # Object store: only the enrolment photo, no crop of anyone who passed.
    assert sorted(site.objects.keys()) == objects_before

    # Bus: nothing on any topic but health reports, and those carry counts only.
    messages = bus_messages(site)
    assert {topic for topic, _, _ in messages} == {HEALTH_TOPIC}
    for _, key, value in messages:
        report = json.loads(value)
        assert key == CAMERA
        assert set(report) - COUNT_FIELDS <= {"schema_version", "camera_id", "state", "last_frame_at", "reported_at",
                                              "watchlist_version", "detection_ms", "embedding_ms"}  # mean timings, no face

    # Logs, at DEBUG: no box of an unmatched face, no embedding.
    logged = [r.getMessage() for r in caplog.records]
    assert not [m for m in logged for box in boxes if mentions_box(m, box)]
    assert not [m for m in logged if re.search(r"embedding|descriptor|-?0\.\d{4,}.*-?0\.\d{4,}", m, re.IGNORECASE)]


def test_the_scan_does_see_a_matched_pass(site, photo_path, head_patch, detector, embedder):
    """The same scan on an enrolled face finds its sighting, crop and message: the scan can fail."""
    site.enrol(photo_path("obama.jpg"), "Obama", detector=detector, embedder=embedder)
    before, objects_before = row_counts(site), sorted(site.objects.keys())
    site.analyse(walk(head_patch("obama2.jpg"), T0), detector, embedder)
    changed = {t for t, n in row_counts(site).items() if n != before[t]}
    assert {"sightings", "tracks", "track_visits"} <= changed
    assert sorted(site.objects.keys()) != objects_before
    assert {topic for topic, _, _ in bus_messages(site)} - {HEALTH_TOPIC}
