"""The pure stitching core: sightings in, tracks out, independent of order and duplicates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facetrail.events import Box, SightingEvent
from facetrail.tracks import CameraPlan, TailState, Visit
from facetrail.trajectory.stitch import grow_tail, stitch

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
PLAN = CameraPlan({"gate": (0.0, 0.0), "hall": (30.0, 0.0), "lab": (30.0, 40.0), "yard": (2000.0, 0.0)})
GAP_S = 600.0
MAX_SPEED = 12.0


def sighting(camera: str, start_s: float, end_s: float, *, entry: str = "alice", score: float = 0.8) -> SightingEvent:
    return SightingEvent.create(
        camera_id=camera,
        entry_id=entry,
        first_seen=T0 + timedelta(seconds=start_s),
        last_seen=T0 + timedelta(seconds=end_s),
        score=score,
        box=Box(x=0, y=0, w=50, h=50),
        quality=0.6,
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(sightings, positions=PLAN):
    return stitch(sightings, positions, new_track_gap_s=GAP_S, max_speed_mps=MAX_SPEED)


# --- hand-built example -------------------------------------------------------

WALK = [
    sighting("gate", 0, 5, score=0.7),
    sighting("gate", 4, 8, score=0.9),  # overlaps the first pass: same stay
    sighting("hall", 20, 25, score=0.6),
    sighting("hall", 40, 42, score=0.65),  # nothing seen in between: same stay
    sighting("lab", 60, 70, score=0.8),
]


def test_ordered_sightings_give_the_expected_visits_in_camera_order():
    [track] = run(WALK)
    assert track.camera_order == ("gate", "hall", "lab")
    assert track.visits[0] == Visit("gate", at(0), at(8), 0.9, 2, (WALK[0].event_id, WALK[1].event_id))
    assert track.visits[1] == Visit("hall", at(20), at(42), 0.65, 2, (WALK[2].event_id, WALK[3].event_id))
    assert track.visits[2] == Visit("lab", at(60), at(70), 0.8, 1, (WALK[4].event_id,))
    assert (track.entry_id, track.started_at, track.ended_at) == ("alice", at(0), at(70))


def test_ordered_sightings_give_the_expected_transitions():
    [track] = run(WALK)
    first, second = track.transitions
    assert (first.from_camera, first.to_camera, first.left_at, first.arrived_at) == ("gate", "hall", at(8), at(20))
    assert first.distance_m == pytest.approx(30.0)
    assert first.speed_mps == pytest.approx(30.0 / 12)
    assert (second.from_camera, second.to_camera, second.left_at, second.arrived_at) == ("hall", "lab", at(42), at(60))
    assert second.distance_m == pytest.approx(40.0)
    assert second.speed_mps == pytest.approx(40.0 / 18)
    assert track.plausible


def test_a_return_to_a_camera_after_another_is_a_new_visit():
    [track] = run([sighting("gate", 0, 5), sighting("hall", 20, 25), sighting("gate", 40, 45)])
    assert track.camera_order == ("gate", "hall", "gate")
    assert len(track.transitions) == 2


def test_the_track_id_is_deterministic_and_depends_on_person_and_start():
    [again] = run(list(reversed(WALK)))
    [track] = run(WALK)
    [other_person] = run([sighting(s.camera_id, 0, 1, entry="bob") for s in WALK[:1]])
    [later_start] = run(WALK[2:])
    assert track.track_id == again.track_id
    assert len(track.track_id) == 32
    assert other_person.track_id != track.track_id
    assert later_start.track_id != track.track_id


# --- duplicates ---------------------------------------------------------------


def test_the_same_events_twice_give_the_same_tracks():
    assert run(WALK + WALK) == run(WALK)


def test_two_publications_of_one_pass_give_the_same_tracks_as_the_final_one():
    final = sighting("lab", 60, 70, score=0.8)
    early = final.model_copy(update={"last_seen": at(61), "score": 0.7})
    assert early.event_id == final.event_id
    merged = WALK[:4] + [final]
    assert run(WALK[:4] + [early, final]) == run(merged)
    assert run([final, early] + WALK[:4]) == run(merged)
    [track] = run([early] + WALK[:4] + [final])
    assert track.visits[-1].exited_at == at(70)
    assert track.visits[-1].sightings == 1


# --- track boundaries ---------------------------------------------------------


def test_a_gap_longer_than_the_new_track_gap_starts_a_new_track():
    later = GAP_S + 100
    tracks = run([sighting("gate", 0, 10), sighting("hall", 10 + later, 20 + later)])
    assert [t.camera_order for t in tracks] == [("gate",), ("hall",)]
    assert tracks[0].transitions == () and tracks[1].transitions == ()
    assert tracks[0].track_id != tracks[1].track_id


def test_a_gap_within_the_new_track_gap_keeps_one_track():
    tracks = run([sighting("gate", 0, 10), sighting("hall", 10 + GAP_S, 20 + GAP_S)])
    assert [t.camera_order for t in tracks] == [("gate", "hall")]


def test_a_long_pass_bridges_shorter_passes_inside_it():
    # The gap is measured from the latest end so far, not from the previous pass.
    long_stay = sighting("gate", 0, 2 * GAP_S)
    tracks = run([long_stay, sighting("hall", 10, 20), sighting("hall", GAP_S + 500, GAP_S + 510)])
    assert len(tracks) == 1


def test_an_empty_input_gives_no_tracks():
    assert run([]) == []


# --- plausibility -------------------------------------------------------------


def test_an_impossible_speed_between_far_apart_cameras_is_implausible():
    [track] = run([sighting("gate", 0, 5), sighting("yard", 35, 40)])  # 2 km in 30 s
    [hop] = track.transitions
    assert hop.speed_mps == pytest.approx(2000 / 30)
    assert not hop.plausible
    assert not track.plausible


def test_a_walking_speed_is_plausible():
    events = [sighting("gate", 0, 5), sighting("yard", 5 + 1600, 1610)]  # 2 km in 1600 s
    [track] = stitch(events, PLAN, new_track_gap_s=3600, max_speed_mps=MAX_SPEED)
    [hop] = track.transitions
    assert hop.speed_mps == pytest.approx(1.25)
    assert hop.plausible and track.plausible


def test_simultaneous_sightings_at_far_apart_cameras_are_implausible():
    [track] = run([sighting("gate", 0, 10), sighting("yard", 5, 15)])
    assert not track.transitions[0].plausible


def test_overlapping_views_of_neighbouring_cameras_are_plausible():
    plan = CameraPlan({"gate": (0.0, 0.0), "porch": (4.0, 3.0)})
    [track] = run([sighting("gate", 0, 10), sighting("porch", 9, 15)], positions=plan)
    [hop] = track.transitions
    assert hop.distance_m == pytest.approx(5.0)
    assert hop.plausible


def test_a_camera_not_on_the_plan_has_unknown_speed_and_stays_plausible():
    [track] = run([sighting("gate", 0, 5), sighting("roof", 6, 8)])
    [hop] = track.transitions
    assert hop.distance_m is None and hop.speed_mps is None
    assert hop.plausible


def test_a_plain_mapping_of_positions_works_like_a_camera_plan():
    positions = {"gate": (0.0, 0.0), "yard": (2000.0, 0.0)}
    events = [sighting("gate", 0, 5), sighting("yard", 35, 40)]
    assert run(events, positions=positions) == run(events)


# --- people and bad input -----------------------------------------------------


def test_two_peoples_sightings_never_mix():
    alice = [sighting("gate", 0, 5), sighting("hall", 20, 25)]
    bob = [sighting("hall", 2, 6, entry="bob"), sighting("gate", 21, 30, entry="bob")]
    tracks = run(alice + bob)
    assert [(t.entry_id, t.camera_order) for t in tracks] == [("alice", ("gate", "hall")), ("bob", ("hall", "gate"))]


@pytest.mark.parametrize("limits", [{"new_track_gap_s": 0}, {"max_speed_mps": -1}, {"max_speed_mps": float("nan")}])
def test_a_non_positive_limit_is_refused_with_a_clear_message(limits):
    arguments = {"new_track_gap_s": GAP_S, "max_speed_mps": MAX_SPEED} | limits
    with pytest.raises(ValueError, match="must be a positive number"):
        stitch(WALK, PLAN, **arguments)


def test_something_other_than_a_sighting_is_refused_by_name():
    with pytest.raises(TypeError, match="SightingEvent values, got dict"):
        run([{"camera_id": "gate"}])


def test_a_position_that_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="camera 'gate': position must be finite"):
        CameraPlan({"gate": (float("inf"), 0.0)})


# --- properties over generated sightings ----------------------------------------

CAMERAS = ["gate", "hall", "lab", "yard", "roof"]  # roof is not on the plan


@st.composite
def sightings(draw) -> list[SightingEvent]:
    events = []
    for _ in range(draw(st.integers(0, 25))):
        start_ms = draw(st.integers(0, 3 * 3600 * 1000))
        duration_ms = draw(st.integers(0, 90_000))
        events.append(
            sighting(
                draw(st.sampled_from(CAMERAS)),
                start_ms / 1000,
                (start_ms + duration_ms) / 1000,
                entry=draw(st.sampled_from(["alice", "bob", "carol"])),
                score=draw(st.floats(0.0, 1.0)),
            )
        )
    return events


def deduplicated(events: list[SightingEvent]) -> list[SightingEvent]:
    merged: dict[tuple[str, str], SightingEvent] = {}
    for event in events:
        key = (event.entry_id, event.event_id)
        merged[key] = event if key not in merged else merged[key].merged_with(event)
    return list(merged.values())


@settings(max_examples=150, deadline=None)
@given(events=sightings(), data=st.data())
def test_shuffled_input_gives_the_same_tracks_as_ordered_input(events, data):
    ordered = sorted(events, key=lambda e: (e.first_seen, e.camera_id))
    assert run(data.draw(st.permutations(events))) == run(ordered)


@settings(max_examples=150, deadline=None)
@given(events=sightings(), data=st.data())
def test_duplicated_and_partial_publications_give_the_same_tracks_as_deduplicated_input(events, data):
    early = []
    for event in data.draw(st.lists(st.sampled_from(events), max_size=10) if events else st.just([])):
        cut = data.draw(st.floats(0.0, 1.0))
        early.append(event.model_copy(update={"last_seen": event.first_seen + cut * (event.last_seen - event.first_seen), "score": event.score * cut}))
    noisy = data.draw(st.permutations(events + events + early))
    assert run(noisy) == run(deduplicated(events))


@settings(max_examples=150, deadline=None)
@given(events=sightings())
def test_every_pass_lands_in_exactly_one_track_of_its_own_person(events):
    tracks = run(events)
    owner = {(e.entry_id, e.event_id) for e in deduplicated(events)}
    placed = [(t.entry_id, event_id) for t in tracks for event_id in t.event_ids]
    assert sorted(placed) == sorted(owner)
    for person in {e.entry_id for e in events}:
        alone = run([e for e in events if e.entry_id == person])
        assert [t for t in tracks if t.entry_id == person] == alone


@settings(max_examples=150, deadline=None)
@given(events=sightings())
def test_tracks_of_one_person_are_ordered_and_separated_by_more_than_the_gap(events):
    tracks = run(events)
    assert [(t.entry_id, t.started_at) for t in tracks] == sorted((t.entry_id, t.started_at) for t in tracks)
    for before, after in zip(tracks, tracks[1:]):
        if before.entry_id == after.entry_id:
            assert (after.started_at - before.ended_at).total_seconds() > GAP_S
    for track in tracks:
        assert len(track.transitions) == len(track.visits) - 1
        assert all(a.camera_id != b.camera_id for a, b in zip(track.visits, track.visits[1:]))


# --- growing a person's last track with later passes ---------------------------------


def alice_only(events: list[SightingEvent]) -> list[SightingEvent]:
    return [e.model_copy(update={"entry_id": "alice"}) for e in events]


def state_of(track) -> TailState:
    return TailState(track.started_at, track.ended_at, track.plausible, len(track.visits), track.visits[-1])


def grow(tail, later):
    return grow_tail("alice", state_of(tail), later, PLAN, new_track_gap_s=GAP_S, max_speed_mps=MAX_SPEED)


@settings(max_examples=200, deadline=None)
@given(events=sightings(), data=st.data())
def test_growing_the_last_track_from_its_last_visit_alone_gives_the_full_stitchs_end_of_it(events, data):
    events = alice_only(events)
    if not events:
        return
    cut = data.draw(st.sampled_from(sorted({e.first_seen for e in events})))
    *_, tail = run([e for e in events if e.first_seen <= cut])
    later = [e for e in events if e.first_seen > tail.ended_at]
    if len([e for e in events if e.first_seen <= cut]) + len(later) < len(events):
        return
    grown, following = grow_tail("alice", state_of(tail), later, PLAN, GAP_S, MAX_SPEED)
    full = [t for t in run(events) if t.started_at >= tail.started_at]
    whole = full[0]
    if grown is None:  # nothing joined: the tail stays as it is
        assert whole == tail and following == full[1:]
        return
    assert (grown.track_id, grown.started_at, grown.ended_at, grown.plausible) == \
           (whole.track_id, whole.started_at, whole.ended_at, whole.plausible)
    assert grown.visits == whole.visits[grown.first_seq:] and grown.arrivals == whole.transitions[grown.first_seq:]
    assert following == full[1:]


@settings(max_examples=200, deadline=None)
@given(events=sightings(), data=st.data())
def test_a_pass_starting_before_the_last_track_ends_asks_for_a_full_restitch(events, data):
    events = alice_only(events)
    if len(events) < 2:
        return
    *_, tail = run(events[:-1])
    late = events[-1]
    if late.first_seen > tail.ended_at:
        return
    assert grow(tail, [late, *data.draw(st.lists(st.sampled_from(events), max_size=3))]) is None


def test_a_pass_long_after_the_last_track_starts_a_new_track_and_keeps_the_tail():
    [tail] = run(WALK)
    far = sighting("gate", 70 + GAP_S + 1, 70 + GAP_S + 5)
    grown, following = grow(tail, [far])
    assert grown is None and [tail, *following] == run([*WALK, far])
    assert [t.started_at for t in following] == [at(70 + GAP_S + 1)]


def test_a_tail_read_back_without_event_ids_keeps_its_visit_count():
    [tail] = run(WALK)
    last = tail.visits[-1]
    stored = TailState(tail.started_at, tail.ended_at, tail.plausible, len(tail.visits),
                       Visit(last.camera_id, last.entered_at, last.exited_at, last.best_score, last.sightings, ()))
    grown, _ = grow_tail("alice", stored, [sighting("lab", 80, 85)], PLAN, GAP_S, MAX_SPEED)
    assert [v.sightings for v in grown.visits] == [2]
    assert grown.visits[-1].event_ids == (sighting("lab", 80, 85).event_id,)


def test_passes_of_another_person_are_refused():
    [tail] = run(WALK)
    with pytest.raises(ValueError, match="alice"):
        grow(tail, [sighting("lab", 80, 85, entry="bob")])
