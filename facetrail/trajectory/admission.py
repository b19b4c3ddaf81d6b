"""What the trajectory service may store: never what retention has already removed.

A sighting that ended before the retention cutoff was (or will at the next sweep be) deleted, so a replay of
the bus (a consumer group reset to offset 0, a restored backup) must not bring it back; a crop older than the
evidence cutoff is gone, so a sighting old enough for that is stored without naming it. Pure: the caller says
what time it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from facetrail.config import RetentionConfig
from facetrail.events import SightingEvent


@dataclass(frozen=True)
class Admitted:
    events: list[SightingEvent]
    past_retention: int
    """Refused: ended before the sightings' retention cutoff."""
    crops_dropped: int
    """Admitted without their crop: first seen before the evidence cutoff."""


def admit(events: list[SightingEvent], retention: RetentionConfig, now: datetime) -> Admitted:
    sightings_cutoff = now - timedelta(days=retention.sightings_days)
    evidence_cutoff = now - timedelta(days=retention.evidence_days)
    kept, crops = [], 0
    for event in events:
        if event.last_seen < sightings_cutoff:
            continue
        if event.evidence_key is not None and event.first_seen < evidence_cutoff:
            event = event.model_copy(update={"evidence_key": None})
            crops += 1
        kept.append(event)
    return Admitted(kept, len(events) - len(kept), crops)
