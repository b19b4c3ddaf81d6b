"""In-camera face tracking: link detections across sampled frames into passes.

A pass (track) is one face moving past one camera. Detections are linked to
open tracks greedily by overlap (IoU) or, for fast faces that overlap little
between sampled frames, by centre distance relative to face size. A track ends
when unseen for ``max_missing_s`` of capture time.

Per track only the best shots (by quality) are offered for embedding, at most
``best_shots`` of them, so the costly embedding runs a bounded number of times
per pass. Pure: no images, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from facetrail.analytics.detector import Detection
from facetrail.config import TrackerConfig

# A later shot must beat the best embedded one by this much to be embedded too:
# an approaching face improves a little every frame, and the budget is for real gains.
QUALITY_GAIN = 0.05
# Centre distance (in face widths) still linked when boxes barely overlap: a walker
# crossing the picture moves ~1.75 face widths between frames sampled at 5 fps.
_MAX_CENTRE_JUMP = 2.5
# One face between two sampled frames neither changes width by more than this factor nor turns
# back by more than _MAX_TURN_BACK face widths; where two walkers cross, the detection that would
# break either rule is the other walker's, and linking it would give one pass two people (the
# second named with the first one's first_seen). Refusing costs at worst a pass split in two.
_MAX_SIZE_STEP = 1.25
_MAX_TURN_BACK = 1 / 3


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
    heading: float = 0.0
    """Horizontal move (px) of the last link that moved the face by over _MAX_TURN_BACK of its width."""


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


def _move(track: FaceTrack, new: Detection) -> float:
    return new.centre[0] - track.last.centre[0]


def _another_face(track: FaceTrack, new: Detection) -> bool:
    """The detection breaks what one face can do between sampled frames: it grew or shrank too much, or turned back."""
    if not 1 / _MAX_SIZE_STEP <= new.w / track.last.w <= _MAX_SIZE_STEP:
        return True
    move = _move(track, new)
    return track.heading * move < 0 and abs(move) > _MAX_TURN_BACK * track.last.w


def _link_score(track: FaceTrack, new: Detection, iou_threshold: float) -> float | None:
    """Higher is a better link; None when the two cannot be the same face."""
    if _another_face(track, new):
        return None
    last = track.last
    overlap = iou(last, new)
    if overlap >= iou_threshold:
        return 1.0 + overlap
    (ax, ay), (bx, by) = last.centre, new.centre
    jump = ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / max(last.w, new.w)
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
        for det_index, track in self._assign(detections).items():
            shot = Shot(captured_at, frame_index, detections[det_index], qualities[det_index])
            if track is None:
                track = FaceTrack(self._next_id, captured_at, captured_at, shot.detection, shot)
                self._next_id += 1
                self._open.append(track)
                update.improved.append((track, shot))
            else:
                if abs(_move(track, shot.detection)) > _MAX_TURN_BACK * track.last.w:
                    track.heading = _move(track, shot.detection)
                track.last_seen, track.last = captured_at, shot.detection
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

    def _assign(self, detections: list[Detection]) -> dict[int, FaceTrack | None]:
        """Greedy best-first linking: each track and each detection used at most once."""
        candidates = []
        for ti, track in enumerate(self._open):
            for di, det in enumerate(detections):
                score = _link_score(track, det, self.config.iou_threshold)
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
