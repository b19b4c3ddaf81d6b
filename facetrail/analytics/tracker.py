"""In-camera face tracking: link detections across sampled frames into passes.

A pass (track) is one face moving past one camera. Each track predicts where its
face is now from its velocity so far (people walk at a steady pace), and
detections are linked to open tracks greedily by overlap (IoU) with that
prediction or, for fast faces that overlap little between sampled frames, by
centre distance from it relative to face size. Predicting keeps two walkers who
cross each other on their own tracks, and keeps a fast walker on one track when
frames are analysed further apart (a busy machine). A track ends when unseen for
``max_missing_s`` of capture time.

Per track only the best shots (by quality) are offered for embedding, at most
``best_shots`` of them, so the costly embedding runs a bounded number of times
per pass. Pure: no images, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from facetrail.analytics.detector import Detection
from facetrail.config import TrackerConfig

# A later shot must beat the best embedded one by this much to be embedded too:
# an approaching face improves a little every frame, and the budget is for real gains.
QUALITY_GAIN = 0.05
# Centre distance (in face widths) from the predicted place still linked when boxes
# barely overlap: a new track has no velocity yet, and a walker crossing the picture
# moves ~1.75 face widths between frames sampled at 5 fps.
_MAX_CENTRE_JUMP = 2.5
# Weight of the newest step in a track's velocity: detector boxes jitter by a few
# pixels, so one step alone would make a noisy prediction.
_VELOCITY_SMOOTHING = 0.6


@dataclass(frozen=True)
class Shot:
    captured_at: datetime
    frame_index: int
    detection: Detection
    quality: float


@dataclass
class FaceTrack:
    track_id: int
    first_seen: datetime
    last_seen: datetime
    last: Detection
    best: Shot
    embedded: int = 0
    """How many shots of this track were embedded so far."""
    best_embedded_quality: float = -1.0
    velocity: tuple[float, float] | None = None
    """Full-resolution pixels per second of the face's centre; None until it was seen twice."""

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
                step = tuple(_VELOCITY_SMOOTHING * new + (1 - _VELOCITY_SMOOTHING) * old
                             for new, old in zip(step, self.velocity))
            self.velocity = step
        self.last_seen, self.last = at, detection


@dataclass(frozen=True)
class TrackUpdate:
    to_embed: list[tuple[FaceTrack, Shot]] = field(default_factory=list)
    """Shots of this frame worth embedding (good enough and among their track's best)."""
    improved: list[tuple[FaceTrack, Shot]] = field(default_factory=list)
    """Tracks whose best shot is now in this frame."""
    ended: list[FaceTrack] = field(default_factory=list)
    """Tracks unseen for max_missing_s: their pass is over."""


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
    def __init__(self, config: TrackerConfig, min_quality: float = 0.0):
        self.config = config
        self.min_quality = min_quality
        self._open: list[FaceTrack] = []
        self._next_id = 1

    @property
    def open_tracks(self) -> list[FaceTrack]:
        return list(self._open)

    def update(self, captured_at: datetime, frame_index: int, detections: list[Detection], qualities: list[float]) -> TrackUpdate:
        if len(detections) != len(qualities):
            raise ValueError("one quality per detection is needed")
        ended = self._expire(captured_at)
        update = TrackUpdate(ended=ended)
        for det_index, track in self._assign(captured_at, detections).items():
            shot = Shot(captured_at, frame_index, detections[det_index], qualities[det_index])
            if track is None:
                track = FaceTrack(self._next_id, captured_at, captured_at, shot.detection, shot)
                self._next_id += 1
                self._open.append(track)
                update.improved.append((track, shot))
            else:
                track.move_to(captured_at, shot.detection)
                if shot.quality > track.best.quality:
                    track.best = shot
                    update.improved.append((track, shot))
            if self._worth_embedding(track, shot):
                update.to_embed.append((track, shot))
        return update

    def finish(self) -> list[FaceTrack]:
        """End of stream: every open pass is over."""
        ended, self._open = self._open, []
        return ended

    def mark_embedded(self, track: FaceTrack, shot: Shot) -> None:
        track.embedded += 1
        track.best_embedded_quality = max(track.best_embedded_quality, shot.quality)

    def _worth_embedding(self, track: FaceTrack, shot: Shot) -> bool:
        if shot.quality < self.min_quality or track.embedded >= self.config.best_shots:
            return False
        return shot.quality >= track.best_embedded_quality + QUALITY_GAIN

    def _expire(self, now: datetime) -> list[FaceTrack]:
        ended = [t for t in self._open if (now - t.last_seen).total_seconds() > self.config.max_missing_s]
        if ended:
            self._open = [t for t in self._open if t not in ended]
        return ended

    def _assign(self, now: datetime, detections: list[Detection]) -> dict[int, FaceTrack | None]:
        """Greedy best-first linking: each track and each detection used at most once."""
        candidates = []
        for ti, track in enumerate(self._open):
            expected = track.predicted(now)
            for di, det in enumerate(detections):
                score = _link_score(expected, det, self.config.iou_threshold)
                if score is not None:
                    candidates.append((score, ti, di))
        candidates.sort(reverse=True)
        used_tracks: set[int] = set()
        assigned: dict[int, FaceTrack | None] = {}
        for _, ti, di in candidates:
            if ti in used_tracks or di in assigned:
                continue
            used_tracks.add(ti)
            assigned[di] = self._open[ti]
        for di in range(len(detections)):
            assigned.setdefault(di, None)
        return dict(sorted(assigned.items()))
