"""Expiry and retention: the sweeper erases expired entries and old data, everywhere it lives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from facetrail.bus.channels import ALERTS_TOPIC, DEAD_LETTER_TOPIC, SIGHTINGS_TOPIC
from facetrail.cli.main import cli
from facetrail.config import RetentionConfig
from facetrail.accountability.retention import sweep
from facetrail.storage.models import EmbeddingRow, SightingRow, TrackRow, VisitRow

from .conftest import walk


def count(site, model) -> int:
    with site.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def seen(site, photo_path, head_patch, detector, embedder, days=1):
    """Obama enrolled for `days`, then seen walking past the camera an hour ago."""
    entry = site.enrol(photo_path("obama.jpg"), "Obama", days=days, detector=detector, embedder=embedder)
    site.analyse(walk(head_patch("obama2.jpg"), datetime.now(timezone.utc) - timedelta(hours=1)), detector, embedder)
    assert count(site, SightingRow) == 1 and count(site, TrackRow) == 1, "precondition: the pass was stored and stitched"
    assert len(list(site.objects.keys("evidence/"))) == 1 and len(list(site.objects.keys("enrolment/"))) == 1
    assert site.bus.messages(SIGHTINGS_TOPIC) and site.bus.messages(ALERTS_TOPIC)
    return entry


def test_an_expired_entry_is_erased_with_everything_derived_from_it(site, photo_path, head_patch, detector, embedder):
    entry = seen(site, photo_path, head_patch, detector, embedder, days=1)
    report = sweep(site.config, site.db, site.objects, site.bus, site.audit, now=datetime.now(timezone.utc) + timedelta(days=2))
    assert report.entries_expired == (entry.entry_id,)
    assert site.watchlist.get(entry.entry_id) is None
    assert (count(site, EmbeddingRow), count(site, SightingRow), count(site, TrackRow), count(site, VisitRow)) == (0, 0, 0, 0)
    assert list(site.objects.keys()) == []  # evidence crop and enrolment photo
    assert site.bus.messages(SIGHTINGS_TOPIC) == [] and site.bus.messages(ALERTS_TOPIC) == []
    actions = [(r.action, r.subject) for r in site.audit.records()]
    assert ("watchlist.expire", entry.entry_id) in actions and actions[-1][0] == "retention.sweep"
    assert site.audit.verify().ok


def test_an_expired_entry_s_dead_lettered_messages_are_erased_with_it(site, photo_path, head_patch, detector, embedder):
    entry = seen(site, photo_path, head_patch, detector, embedder, days=1)
    site.bus.publish(DEAD_LETTER_TOPIC, entry.entry_id, b'{"refused": "a message keyed by the person"}')
    sweep(site.config, site.db, site.objects, site.bus, site.audit, now=datetime.now(timezone.utc) + timedelta(days=2))
    assert site.bus.messages(DEAD_LETTER_TOPIC) == []


def test_a_sweep_before_expiry_and_retention_limits_deletes_nothing(site, photo_path, head_patch, detector, embedder):
    seen(site, photo_path, head_patch, detector, embedder, days=30)
    report = sweep(site.config, site.db, site.objects, site.bus, site.audit)
    assert (report.entries_expired, report.sightings_deleted, report.tracks_deleted, report.objects_deleted) == ((), 0, 0, 0)
    assert count(site, SightingRow) == 1 and len(list(site.objects.keys())) == 2


@pytest.mark.parametrize(("days_later", "left"), [
    (10, {"crops": 0, "sightings": 1, "tracks": 1, "visits": 1}),
    (40, {"crops": 0, "sightings": 0, "tracks": 1, "visits": 1}),
    (70, {"crops": 0, "sightings": 0, "tracks": 0, "visits": 0}),
])
def test_each_kind_of_data_is_deleted_after_its_own_retention_limit(site, photo_path, head_patch, detector, embedder, days_later, left):
    seen(site, photo_path, head_patch, detector, embedder, days=90)
    config = site.config.model_copy(update={"retention": RetentionConfig(evidence_days=5, sightings_days=30, tracks_days=60)})
    sweep(config, site.db, site.objects, site.bus, site.audit, now=datetime.now(timezone.utc) + timedelta(days=days_later))
    found = {"crops": len(list(site.objects.keys("evidence/"))), "sightings": count(site, SightingRow),
             "tracks": count(site, TrackRow), "visits": count(site, VisitRow)}
    assert found == left
    assert site.watchlist.records(), "the unexpired entry itself stays"


def test_an_old_crop_no_sighting_refers_to_is_deleted(site):
    site.objects.put("evidence/gate-1/2026-01-01/" + "a" * 32 + ".jpg", b"jpeg")
    site.objects.put("evidence/gate-1/2026-01-05/" + "b" * 32 + ".jpg", b"jpeg")  # may still be in flight
    sweep(site.config, site.db, site.objects, site.bus, site.audit, now=datetime(2026, 1, 6, 12, tzinfo=timezone.utc))
    assert list(site.objects.keys()) == ["evidence/gate-1/2026-01-05/" + "b" * 32 + ".jpg"]


def test_retention_sweep_command_runs_one_audited_sweep(site):
    result = CliRunner().invoke(cli, ["retention", "sweep", "-c", str(site.config_path)])
    assert result.exit_code == 0, result.output
    assert "retention sweep: 0 expired entries erased" in result.output
    assert site.audit.records()[-1].action == "retention.sweep"
