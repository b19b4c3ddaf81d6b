"""Stitch one person's sightings into tracks: pure, no I/O, no clock.

The result depends only on the set of distinct passes given, never on their
order or on how often a pass was published, so a replayed or reordered bus
yields the same tracks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from facetrail.events import SightingEvent
from facetrail.tracks import CameraPlan, GrownTail, TailState, Track, Transition, Visit, track_id_for

# Clocks of different cameras disagree by a little and overlapping views make the
# travel time zero or negative; travel is never credited as faster than this, so
# a hop between neighbouring cameras stays plausible while a "simultaneous"
# sighting at two far-apart cameras does not.
MIN_TRAVEL_S = 1.0


def stitch(
    sightings: Iterable[SightingEvent],
    positions: Mapping[str, tuple[float, float]],
    new_track_gap_s: float,
    max_speed_mps: float,
    *,
    min_travel_s: float = MIN_TRAVEL_S,
) -> list[Track]:
    """Tracks of every person in ``sightings``, sorted by (entry_id, started_at).

    A new track starts when a pass begins more than ``new_track_gap_s`` after
    every earlier pass of that person has ended. A transition is implausible when
    the implied straight-line speed exceeds ``max_speed_mps``.
    """
    _check_limits(new_track_gap_s, max_speed_mps, min_travel_s)
    plan = positions if isinstance(positions, CameraPlan) else CameraPlan(positions)
    gap = timedelta(seconds=new_track_gap_s)
    tracks: list[Track] = []
    for entry_id, passes in sorted(_distinct_passes_by_person(sightings).items()):
        ordered = sorted(passes.values(), key=_pass_order)
        for run in _split_at_gaps(ordered, gap):
            tracks.append(_track(entry_id, run, plan, max_speed_mps, min_travel_s))
    return tracks


def grow_tail(
    entry_id: str,
    tail: TailState,
    later: Iterable[SightingEvent],
    positions: Mapping[str, tuple[float, float]],
    new_track_gap_s: float,
    max_speed_mps: float,
    *,
    min_travel_s: float = MIN_TRAVEL_S,
) -> tuple[GrownTail | None, list[Track]] | None:
    """The last track grown by the ``later`` passes that join it (None when none does), and the tracks after it.

    Only the tail's last visit is read and rebuilt, so the cost follows the new passes, not the track: the
    grown visits and arrivals equal the end of what ``stitch`` gives from the track's passes and ``later``
    (from the old last visit on), and the tracks after it equal stitch's. That holds only when every later
    pass starts after the track has ended; otherwise (a late arrival, a new publication of a known pass)
    this returns None and the caller re-stitches in full. A tail read back from storage has no event ids
    (the store keeps counts); its grown last visit then names only the later passes' ids.
    """
    _check_limits(new_track_gap_s, max_speed_mps, min_travel_s)
    passes = _distinct_passes_by_person(later)
    if set(passes) - {entry_id}:
        raise ValueError(f"grow_tail takes passes of {entry_id!r} only")
    ordered = sorted(passes.get(entry_id, {}).values(), key=_pass_order)
    if ordered and ordered[0].first_seen <= tail.ended_at:
        return None
    plan = positions if isinstance(positions, CameraPlan) else CameraPlan(positions)
    gap = timedelta(seconds=new_track_gap_s)
    runs = list(_split_at_gaps(ordered, gap))
    joining = runs.pop(0) if runs and runs[0][0].first_seen - tail.ended_at <= gap else []
    following = [_track(entry_id, run, plan, max_speed_mps, min_travel_s) for run in runs]
    if not joining:
        return None, following
    visits = _assembled([_OpenVisit.reopened(tail.last)], joining)
    arrivals = tuple(_transition(before, after, plan, max_speed_mps, min_travel_s)
                     for before, after in zip(visits, visits[1:]))
    grown = GrownTail(
        track_id=track_id_for(entry_id, tail.started_at), entry_id=entry_id, started_at=tail.started_at,
        ended_at=max(tail.ended_at, *(visit.exited_at for visit in visits)),
        plausible=tail.plausible and all(arrival.plausible for arrival in arrivals),
        first_seq=tail.visit_count - 1, visits=tuple(visits), arrivals=arrivals)
    return grown, following


def _check_limits(new_track_gap_s: float, max_speed_mps: float, min_travel_s: float) -> None:
    for name, value in (("new_track_gap_s", new_track_gap_s), ("max_speed_mps", max_speed_mps), ("min_travel_s", min_travel_s)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of {'metres per second' if 'speed' in name else 'seconds'}, got {value!r}")


def _distinct_passes_by_person(sightings: Iterable[SightingEvent]) -> dict[str, dict[str, SightingEvent]]:
    """One event per pass (publications merged), grouped by watch-list entry."""
    by_person: dict[str, dict[str, SightingEvent]] = {}
    for sighting in sightings:
        if not isinstance(sighting, SightingEvent):
            raise TypeError(f"stitch takes SightingEvent values, got {type(sighting).__name__}")
        passes = by_person.get(sighting.entry_id)
        if passes is None:
            passes = by_person[sighting.entry_id] = {}
        known = passes.get(sighting.event_id)
        passes[sighting.event_id] = sighting if known is None else known.merged_with(sighting)
    return by_person


def _pass_order(sighting: SightingEvent) -> tuple[datetime, datetime, str, str]:
    # A total order (event ids are unique per person) makes the result input-order free.
    return (sighting.first_seen, sighting.last_seen, sighting.camera_id, sighting.event_id)


def _split_at_gaps(ordered: list[SightingEvent], gap: timedelta) -> Iterable[list[SightingEvent]]:
    run: list[SightingEvent] = []
    run_end: datetime | None = None
    for sighting in ordered:
        # Compare with the latest end so far: a long pass covers shorter ones inside it.
        if run_end is not None and sighting.first_seen - run_end > gap:
            yield run
            run, run_end = [], None
        run.append(sighting)
        if run_end is None or sighting.last_seen > run_end:
            run_end = sighting.last_seen
    if run:
        yield run


class _OpenVisit:
    """A visit still being assembled; frozen into a Visit once the run is done."""

    __slots__ = ("camera_id", "entered_at", "exited_at", "best_score", "sightings", "event_ids")

    def __init__(self, camera_id: str, entered_at: datetime, exited_at: datetime, best_score: float,
                 sightings: int, event_ids: list[str]):
        self.camera_id, self.entered_at, self.exited_at = camera_id, entered_at, exited_at
        self.best_score, self.sightings, self.event_ids = best_score, sightings, event_ids

    @classmethod
    def of(cls, sighting: SightingEvent) -> "_OpenVisit":
        return cls(sighting.camera_id, sighting.first_seen, sighting.last_seen, sighting.score, 1, [sighting.event_id])

    @classmethod
    def reopened(cls, visit: Visit) -> "_OpenVisit":
        # The count is carried apart from the ids: a visit read back from storage has a count but no ids.
        return cls(visit.camera_id, visit.entered_at, visit.exited_at, visit.best_score, visit.sightings,
                   list(visit.event_ids))

    def absorb(self, sighting: SightingEvent) -> None:
        if sighting.last_seen > self.exited_at:
            self.exited_at = sighting.last_seen
        if sighting.score > self.best_score:
            self.best_score = sighting.score
        self.sightings += 1
        self.event_ids.append(sighting.event_id)

    def frozen(self) -> Visit:
        return Visit(
            camera_id=self.camera_id,
            entered_at=self.entered_at,
            exited_at=self.exited_at,
            best_score=self.best_score,
            sightings=self.sightings,
            event_ids=tuple(self.event_ids),
        )


def _assembled(visits: list[_OpenVisit], run: list[SightingEvent]) -> list[Visit]:
    """Merge passes into the visits so far (none for a new track), in order of entry.

    A pass joins its camera's latest visit when nothing else was seen since, or
    when it overlaps that visit in time (a camera's view seen meanwhile by an
    overlapping neighbour does not split one stay in two).
    """
    latest_at = {visit.camera_id: visit for visit in visits}  # later visits overwrite earlier ones
    for sighting in run:
        visit = latest_at.get(sighting.camera_id)
        if visit is not None and (visit is visits[-1] or sighting.first_seen <= visit.exited_at):
            visit.absorb(sighting)
            continue
        visit = latest_at[sighting.camera_id] = _OpenVisit.of(sighting)
        visits.append(visit)
    return [visit.frozen() for visit in visits]


def _transition(before: Visit, after: Visit, plan: CameraPlan, max_speed_mps: float, min_travel_s: float) -> Transition:
    distance = plan.distance(before.camera_id, after.camera_id)
    speed: float | None = None
    if distance is not None:
        travel_s = (after.entered_at - before.exited_at).total_seconds()
        speed = distance / max(travel_s, min_travel_s)
    return Transition(
        from_camera=before.camera_id,
        to_camera=after.camera_id,
        left_at=before.exited_at,
        arrived_at=after.entered_at,
        distance_m=distance,
        speed_mps=speed,
        plausible=speed is None or speed <= max_speed_mps,
    )


def _track(entry_id: str, run: list[SightingEvent], plan: CameraPlan, max_speed_mps: float, min_travel_s: float) -> Track:
    return _track_of(entry_id, _assembled([], run), plan, max_speed_mps, min_travel_s)


def _track_of(entry_id: str, visits: list[Visit], plan: CameraPlan, max_speed_mps: float, min_travel_s: float) -> Track:
    started_at = visits[0].entered_at
    return Track(
        track_id=track_id_for(entry_id, started_at),
        entry_id=entry_id,
        started_at=started_at,
        ended_at=max(visit.exited_at for visit in visits),
        visits=tuple(visits),
        transitions=tuple(
            _transition(before, after, plan, max_speed_mps, min_travel_s) for before, after in zip(visits, visits[1:])
        ),
    )
