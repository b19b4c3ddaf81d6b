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
from facetrail.trajectory.tracks import CameraPlan, Track, Transition, Visit, track_id_for

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

    __slots__ = ("camera_id", "entered_at", "exited_at", "best_score", "event_ids")

    def __init__(self, sighting: SightingEvent):
        self.camera_id = sighting.camera_id
        self.entered_at = sighting.first_seen
        self.exited_at = sighting.last_seen
        self.best_score = sighting.score
        self.event_ids = [sighting.event_id]

    def absorb(self, sighting: SightingEvent) -> None:
        if sighting.last_seen > self.exited_at:
            self.exited_at = sighting.last_seen
        if sighting.score > self.best_score:
            self.best_score = sighting.score
        self.event_ids.append(sighting.event_id)

    def frozen(self) -> Visit:
        return Visit(
            camera_id=self.camera_id,
            entered_at=self.entered_at,
            exited_at=self.exited_at,
            best_score=self.best_score,
            sightings=len(self.event_ids),
            event_ids=tuple(self.event_ids),
        )


def _visits(run: list[SightingEvent]) -> list[Visit]:
    """Merge passes into visits, in order of entry.

    A pass joins its camera's latest visit when nothing else was seen since, or
    when it overlaps that visit in time (a camera's view seen meanwhile by an
    overlapping neighbour does not split one stay in two).
    """
    visits: list[_OpenVisit] = []
    latest_at: dict[str, _OpenVisit] = {}
    for sighting in run:
        visit = latest_at.get(sighting.camera_id)
        if visit is not None and (visit is visits[-1] or sighting.first_seen <= visit.exited_at):
            visit.absorb(sighting)
            continue
        visit = latest_at[sighting.camera_id] = _OpenVisit(sighting)
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
    visits = _visits(run)
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
