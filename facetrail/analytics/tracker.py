"""In-camera face tracking: link detections across sampled frames into passes.

A pass (track) is one face moving past one camera. Each track predicts where its
face is now from its velocity so far (people walk at a steady pace), and
detections are linked to open tracks greedily by overlap (IoU) with that
prediction or, for fast faces that overlap little between sampled frames, by
centre distance from it relative to face size. Predicting keeps two walkers who
cross each other on their own tracks, and keeps a fast walker on one track when
frames are analysed further apart (a busy machine).

Where faces were embedded, appearance joins geometry: a track keeps the running
mean of its faces' embeddings, a link to a face that clearly looks like someone
else is refused (two walkers crossing close), and among plausible links the one
that looks more alike wins. A track unseen for ``max_missing_s`` is lost rather
than ended when it has an appearance: a face that looks the same within
``rejoin_s`` takes it up again wherever it reappears (a walk split by a pillar or
a passing bus stays one pass); so does one that geometry could not reach because a
busy machine dropped frames and the face moved farther than predicted. Embeddings live only in these open tracks, for the
life of the pass. Pure: no images, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.config import TrackerConfig

# Centre distance (in face widths) from the predicted place still linked when boxes
# barely overlap: a new track has no velocity yet, and a walker crossing the picture
# moves ~1.75 face widths between frames sampled at 5 fps.
_MAX_CENTRE_JUMP = 2.5
# Weight of the newest step in a track's velocity: detector boxes jitter by a few
# pixels, so one step alone would make a noisy prediction.
_VELOCITY_SMOOTHING = 0.6
# How much looking alike adds to a geometric link score (which lies in (-1.5, 2]): enough to decide between
# two plausible links, too little to overrule a clearly better overlap.
_APPEARANCE_WEIGHT = 0.5


@dataclass(frozen=True)
class AppearanceRule:
    """When two embeddings of one model are surely different people, or surely the same."""

    metric: str
    """'cosine' (1 - cosine similarity of unit vectors) or 'euclidean'."""
    different_above: float
    """A geometric link to a face farther than this from the track's appearance is refused."""
    same_below: float
    """A lost track is taken up again by a face nearer than this."""

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        if self.metric == "cosine":
            return float(1.0 - np.dot(a, b) / max(1e-12, float(np.linalg.norm(a) * np.linalg.norm(b))))
        return float(np.linalg.norm(a - b))


@dataclass(frozen=True)
class Shot:
    captured_at: datetime
    frame_index: int
    detection: Detection
    quality: float


@dataclass(eq=False)
class FaceTrack:
    track_id: int
    first_seen: datetime
    last_seen: datetime
    last: Detection
    best: Shot
    velocity: tuple[float, float] | None = None
    """Full-resolution pixels per second of the face's centre; None until it was seen twice."""
    appearance: np.ndarray | None = field(default=None, repr=False)
    """Mean of the embeddings of its faces seen so far (memory only, for the life of the pass)."""
    appearances: int = 0
    rejoined: int = 0
    """Times the track was taken up again by appearance after it was lost."""

    def predicted(self, at: datetime) -> Detection:
        """The last box moved on by the track's velocity to capture time `at`."""
        if self.velocity is None:
            return self.last
        dt = (at - self.last_seen).total_seconds()
        vx, vy = self.velocity
        return replace(self.last, x=int(round(self.last.x + vx * dt)), y=int(round(self.last.y + vy * dt)))

    def move_to(self, at: datetime, detection: Detection) -> None:
        dt = (at - self.last_seen).total_seconds()
        if dt > 0:
            (ax, ay), (bx, by) = self.last.centre, detection.centre
            step = ((bx - ax) / dt, (by - ay) / dt)
            if self.velocity is not None:
                step = (_VELOCITY_SMOOTHING * step[0] + (1 - _VELOCITY_SMOOTHING) * self.velocity[0],
                        _VELOCITY_SMOOTHING * step[1] + (1 - _VELOCITY_SMOOTHING) * self.velocity[1])
            self.velocity = step
        self.last_seen, self.last = at, detection

    def rejoin(self, at: datetime, detection: Detection) -> None:
        """Taken up again after being lost: it may reappear anywhere, so its old velocity no longer holds."""
        self.velocity, self.last_seen, self.last = None, at, detection
        self.rejoined += 1

    def looked_like(self, embedding: np.ndarray) -> None:
        self.appearances += 1
        vector = np.asarray(embedding, np.float32)
        self.appearance = vector.copy() if self.appearance is None else \
            self.appearance + (vector - self.appearance) / self.appearances


@dataclass(frozen=True)
class Linked:
    """One detection of this frame and the track it now belongs to."""

    track: FaceTrack
    shot: Shot
    index: int
    """The detection's index in the frame's list."""


@dataclass(frozen=True)
class TrackUpdate:
    linked: list[Linked] = field(default_factory=list)
    """Every detection of the frame, with its track (new, continued or taken up again)."""
    improved: list[tuple[FaceTrack, Shot]] = field(default_factory=list)
    """Tracks whose best shot is now in this frame."""
    ended: list[FaceTrack] = field(default_factory=list)
    """Tracks unseen too long: their pass is over."""


@dataclass(frozen=True)
class Proposal:
    """A detection's likely track before this frame's embeddings are known."""

    track: FaceTrack | None
    ambiguous: bool
    """Geometry alone cannot tell: another track or another face competes for the link, or a lost track waits."""


def iou(a: Detection, b: Detection) -> float:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _link_score(track: Detection, new: Detection, iou_threshold: float) -> float | None:
    """Higher is a better link; None when the two cannot be the same face."""
    overlap = iou(track, new)
    if overlap >= iou_threshold:
        return 1.0 + overlap
    if not 0.5 <= new.w / track.w <= 2.0:
        return None
    (ax, ay), (bx, by) = track.centre, new.centre
    jump = ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / max(track.w, new.w)
    return 1.0 - jump if jump <= _MAX_CENTRE_JUMP else None


class FaceTracker:
    def __init__(self, config: TrackerConfig, appearance: AppearanceRule | None = None):
        self.config = config
        self.appearance = appearance
        self._open: list[FaceTrack] = []
        self._lost: list[FaceTrack] = []
        self._next_id = 1

    @property
    def open_tracks(self) -> list[FaceTrack]:
        """Tracks seen within max_missing_s."""
        return list(self._open)

    @property
    def lost_tracks(self) -> list[FaceTrack]:
        """Tracks unseen longer than max_missing_s that a look-alike face may still take up again."""
        return list(self._lost)

    def propose(self, now: datetime, detections: list[Detection]) -> list[Proposal]:
        """Each detection's likely track by geometry alone, and whether an embedding would help decide (no change)."""
        scores = self._geometric(now, detections)
        per_detection: dict[int, int] = {}
        per_track: dict[int, int] = {}
        for _, ti, di in scores:
            per_detection[di] = per_detection.get(di, 0) + 1
            per_track[ti] = per_track.get(ti, 0) + 1
        assigned = self._greedy(scores, len(detections))
        waiting = self.appearance is not None and bool(self._waiting(now, set(assigned)))
        return [Proposal(None if ti is None else self._open[ti],
                         per_detection.get(di, 0) > 1 or (ti is not None and per_track[ti] > 1) or (ti is None and waiting))
                for di, ti in enumerate(assigned)]

    def update(self, captured_at: datetime, frame_index: int, detections: list[Detection], qualities: list[float],
               embeddings: list[np.ndarray | None] | None = None) -> TrackUpdate:
        if len(detections) != len(qualities) or (embeddings is not None and len(embeddings) != len(detections)):
            raise ValueError("one quality (and one embedding or None) per detection is needed")
        looks = embeddings or [None] * len(detections)
        update = TrackUpdate(ended=self._expire(captured_at))
        assigned = self._greedy(self._scored(captured_at, detections, looks), len(detections))
        taken = set(assigned)
        for di, ti in enumerate(assigned):
            shot = Shot(captured_at, frame_index, detections[di], qualities[di])
            track = self._open[ti] if ti is not None else self._rejoined(captured_at, shot, looks[di], taken)
            if track is None:
                track = FaceTrack(self._next_id, captured_at, captured_at, shot.detection, shot)
                self._next_id += 1
                self._open.append(track)
                update.improved.append((track, shot))
            elif ti is not None:
                track.move_to(captured_at, shot.detection)
            if track.best is not shot and shot.quality > track.best.quality:
                track.best = shot
                update.improved.append((track, shot))
            look = looks[di]
            if look is not None and self.appearance is not None:
                track.looked_like(look)
            update.linked.append(Linked(track, shot, di))
        return update

    def finish(self) -> list[FaceTrack]:
        """End of stream: every open or lost pass is over."""
        ended, self._open, self._lost = self._open + self._lost, [], []
        return ended

    def _waiting(self, now: datetime, taken: set[int | None]) -> list[FaceTrack]:
        """Tracks with an appearance that no face of this frame continues by position: the lost ones, and open ones
        geometry could not reach (frames dropped by a busy machine let a walker move farther than predicted)."""
        reachable = [t for i, t in enumerate(self._open) if i not in taken and t.last_seen < now]
        return [t for t in self._lost + reachable if t.appearance is not None]

    def _rejoined(self, now: datetime, shot: Shot, look: np.ndarray | None, taken: set[int | None]) -> FaceTrack | None:
        """The waiting track this face looks like (nearest within same_below), taken up again among the open ones."""
        if look is None or self.appearance is None:
            return None
        rule = self.appearance
        distances = [(rule.distance(appearance, look), t.track_id, t)
                     for t in self._waiting(now, taken) if (appearance := t.appearance) is not None]
        if not distances:
            return None
        distance, _, track = min(distances, key=lambda d: d[:2])
        if distance >= rule.same_below:
            return None
        if track in self._lost:
            self._lost.remove(track)
            self._open.append(track)
        track.rejoin(now, shot.detection)
        return track

    def _expire(self, now: datetime) -> list[FaceTrack]:
        ended, still_open = [], []
        rejoinable = self.appearance is not None
        for track in self._open:
            unseen = (now - track.last_seen).total_seconds()
            if unseen <= self.config.max_missing_s:
                still_open.append(track)
            elif rejoinable and track.appearance is not None and unseen <= self.config.rejoin_s:
                self._lost.append(track)
            else:
                ended.append(track)
        self._open = still_open
        gone = [t for t in self._lost if (now - t.last_seen).total_seconds() > self.config.rejoin_s]
        self._lost = [t for t in self._lost if t not in gone]
        return ended + gone

    def _geometric(self, now: datetime, detections: list[Detection]) -> list[tuple[float, int, int]]:
        candidates = []
        for ti, track in enumerate(self._open):
            expected = track.predicted(now)
            for di, det in enumerate(detections):
                score = _link_score(expected, det, self.config.iou_threshold)
                if score is not None:
                    candidates.append((score, ti, di))
        return candidates

    def _scored(self, now: datetime, detections: list[Detection], looks: list[np.ndarray | None]) -> list[tuple[float, int, int]]:
        """Geometric links, refused where the faces clearly differ and favoured where they look alike."""
        rule = self.appearance
        if rule is None:
            return self._geometric(now, detections)
        out = []
        for score, ti, di in self._geometric(now, detections):
            track, look = self._open[ti], looks[di]
            if track.appearance is not None and look is not None:
                distance = rule.distance(track.appearance, look)
                if distance > rule.different_above:
                    continue
                score += _APPEARANCE_WEIGHT * (1.0 - distance / rule.different_above)
            out.append((score, ti, di))
        return out

    @staticmethod
    def _greedy(candidates: list[tuple[float, int, int]], detections: int) -> list[int | None]:
        """Best-first linking: each track and each detection used at most once; per detection its track index or None."""
        used_tracks: set[int] = set()
        assigned: list[int | None] = [None] * detections
        for _, ti, di in sorted(candidates, reverse=True):
            if ti in used_tracks or assigned[di] is not None:
                continue
            used_tracks.add(ti)
            assigned[di] = ti
        return assigned
