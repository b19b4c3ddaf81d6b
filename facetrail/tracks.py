"""Typed values of tracks: the camera plan, visits, transitions, tracks; the trajectory stage makes them, storage keeps them.

Two shapes of a track, one each way: stitching builds a ``Track`` (visits with their event ids, and the
transitions between them); storage keeps and returns a ``TrackRecord`` (each visit with how the person
arrived there), the one shape every reader (API, CLI) sees. ``TrackRecord.of`` is the only conversion.
All of them are immutable and carry tz-aware UTC datetimes, so a track computed
twice from the same sightings compares equal.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from facetrail.config import CameraConfig


class CameraPlan(Mapping[str, tuple[float, float]]):
    """Camera positions on the site plan (metres), keyed by camera id.

    A camera missing from the plan has no known distance to anything, so travel
    to or from it is never judged implausible.
    """

    __slots__ = ("_positions",)

    def __init__(self, positions: Mapping[str, tuple[float, float]]):
        checked: dict[str, tuple[float, float]] = {}
        for camera_id, position in positions.items():
            x, y = (float(v) for v in position)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError(f"camera {camera_id!r}: position must be finite metres, got {position!r}")
            checked[camera_id] = (x, y)
        self._positions = checked

    @classmethod
    def from_cameras(cls, cameras: Iterable[CameraConfig]) -> "CameraPlan":
        return cls({camera.id: (camera.position.x, camera.position.y) for camera in cameras})

    def __getitem__(self, camera_id: str) -> tuple[float, float]:
        return self._positions[camera_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)

    def __repr__(self) -> str:
        return f"CameraPlan({self._positions!r})"

    def distance(self, from_camera: str, to_camera: str) -> float | None:
        """Straight-line metres between two cameras; None when either is not on the plan."""
        a = self._positions.get(from_camera)
        b = self._positions.get(to_camera)
        if a is None or b is None:
            return None
        return math.hypot(b[0] - a[0], b[1] - a[1])


@dataclass(frozen=True, slots=True)
class Visit:
    """One stay in front of one camera: consecutive passes there, merged."""

    camera_id: str
    entered_at: datetime
    exited_at: datetime
    best_score: float
    sightings: int
    event_ids: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return (self.exited_at - self.entered_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Transition:
    """Travel between two consecutive visits of a track.

    ``speed_mps`` is the implied straight-line speed (None when a camera is not
    on the plan); ``plausible`` is False when that speed exceeds the site's limit.
    """

    from_camera: str
    to_camera: str
    left_at: datetime
    arrived_at: datetime
    distance_m: float | None
    speed_mps: float | None
    plausible: bool

    @property
    def travel_s(self) -> float:
        """Seconds between leaving one camera and reaching the next (negative when views overlap)."""
        return (self.arrived_at - self.left_at).total_seconds()


def track_id_for(entry_id: str, started_at: datetime) -> str:
    """Same person and same start (millisecond grain) always give the same id."""
    millis = int(started_at.timestamp() * 1000)
    return hashlib.sha256(f"track|{entry_id}|{millis}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Track:
    """One person's movement: visits in order of entry, and the transitions between them."""

    track_id: str
    entry_id: str
    started_at: datetime
    ended_at: datetime
    visits: tuple[Visit, ...]
    transitions: tuple[Transition, ...]

    @property
    def plausible(self) -> bool:
        return all(transition.plausible for transition in self.transitions)

    @property
    def camera_order(self) -> tuple[str, ...]:
        return tuple(visit.camera_id for visit in self.visits)

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(event_id for visit in self.visits for event_id in visit.event_ids)

    @property
    def sightings(self) -> int:
        return sum(visit.sightings for visit in self.visits)


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """A visit as storage keeps it: counts instead of event ids, and how the person arrived at it.

    ``plausible_arrival`` and ``speed_mps`` are those of the transition into this visit; a track's first
    visit has none, so it counts as plausible with no speed.
    """

    camera_id: str
    entered_at: datetime
    exited_at: datetime
    best_score: float
    sightings: int
    plausible_arrival: bool
    speed_mps: float | None

    @classmethod
    def of(cls, visit: Visit, arrival: Transition | None) -> VisitRecord:
        return cls(visit.camera_id, visit.entered_at, visit.exited_at, visit.best_score, visit.sightings,
                   True if arrival is None else arrival.plausible, None if arrival is None else arrival.speed_mps)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    """A track as storage keeps it and returns it: the read model of a track."""

    track_id: str
    entry_id: str
    started_at: datetime
    ended_at: datetime
    plausible: bool
    visits: tuple[VisitRecord, ...]

    @classmethod
    def of(cls, track: Track) -> TrackRecord:
        arrivals = (None, *track.transitions)  # the first visit has no arrival
        return cls(track.track_id, track.entry_id, track.started_at, track.ended_at, track.plausible,
                   tuple(VisitRecord.of(visit, arrival) for visit, arrival in zip(track.visits, arrivals)))

    @property
    def camera_order(self) -> tuple[str, ...]:
        return tuple(visit.camera_id for visit in self.visits)


@dataclass(frozen=True, slots=True)
class TailState:
    """What extending a person's last track needs of it, whatever its length.

    Later passes start after every visit of the track has ended, so none overlaps an earlier visit:
    only the track's last visit can take one in (the same camera, nothing seen since), the transitions
    into its visits stay as they are, and the track can only grow after that visit.
    """

    started_at: datetime
    ended_at: datetime
    plausible: bool
    visit_count: int
    last: Visit


@dataclass(frozen=True, slots=True)
class GrownTail:
    """A last track after later passes joined it: its last visit as it is now, then the visits after it."""

    track_id: str
    entry_id: str
    started_at: datetime
    ended_at: datetime
    plausible: bool
    first_seq: int  # the position of ``visits[0]`` (the old last visit) in the track
    visits: tuple[Visit, ...]
    arrivals: tuple[Transition, ...]  # into visits[1:], one each

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(event_id for visit in self.visits for event_id in visit.event_ids)
