from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from facetrail.events import Box, SightingEvent

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


def _event(**changes) -> SightingEvent:
    fields = dict(camera_id="cam-a", entry_id="e1", first_seen=T0, last_seen=T0 + timedelta(seconds=2),
                  score=0.6, box=Box(x=1, y=2, w=50, h=60), quality=0.7, evidence_key="evidence/cam-a/2026-01-01/x.jpg")
    fields.update(changes)
    return SightingEvent.create(**fields)


def test_an_event_survives_a_json_round_trip():
    event = _event()
    assert SightingEvent.from_json(event.to_json()) == event


def test_the_event_id_is_deterministic_for_the_same_pass():
    assert _event().event_id == _event(last_seen=T0 + timedelta(seconds=9), score=0.9).event_id


def test_different_passes_get_different_ids():
    assert _event().event_id != _event(first_seen=T0 + timedelta(seconds=1)).event_id
    assert _event().event_id != _event(camera_id="cam-b").event_id


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        _event(first_seen=T0.replace(tzinfo=None))


def test_an_unknown_field_is_refused_on_the_wire():
    raw = _event().model_dump(mode="json") | {"age": 30}
    with pytest.raises(ValidationError):
        SightingEvent.model_validate(raw)


def test_merging_two_publications_keeps_the_widest_span_and_the_best_score():
    early = _event(score=0.9)
    late = _event(last_seen=T0 + timedelta(seconds=8), score=0.5, final=True)
    merged = early.merged_with(late)
    assert merged.last_seen == late.last_seen and merged.score == 0.9 and merged.final
    assert late.merged_with(early) == merged


def test_the_schema_carries_no_personal_attribute_field():
    banned = {"age", "gender", "sex", "ethnicity", "race", "emotion", "mood", "attractiveness", "skin"}
    assert not banned & set(SightingEvent.model_fields)
