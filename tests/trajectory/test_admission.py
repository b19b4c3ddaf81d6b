from datetime import datetime, timedelta, timezone

from facetrail.config import RetentionConfig
from facetrail.events import Box, SightingEvent
from facetrail.trajectory.admission import admit

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
RETENTION = RetentionConfig(sightings_days=30, tracks_days=30, evidence_days=7)


def _event(ended_days_ago: float, key: str | None = "evidence/cam-a/2026-06-01/0123456789abcdef0123456789abcdef.jpg"):
    last = NOW - timedelta(days=ended_days_ago)
    return SightingEvent.create(camera_id="cam-a", entry_id="e1", first_seen=last - timedelta(seconds=5), last_seen=last,
                                score=0.4, box=Box(x=0, y=0, w=50, h=50), quality=0.5, evidence_key=key)


def test_a_sighting_that_ended_before_the_retention_cutoff_is_refused():
    admitted = admit([_event(31), _event(29)], RETENTION, NOW)
    assert admitted.past_retention == 1 and [e.last_seen for e in admitted.events] == [NOW - timedelta(days=29)]


def test_a_sighting_older_than_the_evidence_limit_is_admitted_without_its_deleted_crop():
    admitted = admit([_event(8), _event(1)], RETENTION, NOW)
    assert [e.evidence_key is None for e in admitted.events] == [True, False] and admitted.crops_dropped == 1
