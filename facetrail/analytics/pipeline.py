"""The per-camera analyser: frames in, matched passes out.

Per frame: detect, score quality, track; the best shots of each pass (at most
``best_shots``, each clearly better than the last one embedded) are embedded on
the full-resolution frame and matched at once. An embedding is never kept: only
the match it produced (entry and distance) is, and an embedding that matches
nobody leaves nothing. A pass is announced the moment one of its shots matches
(fast alerts) and published again, ``final``, when the pass ends; the identity of
the pass is the entry most of its matching shots voted for. A pass that matched
nobody only increments a counter, and nothing about it is logged.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

import cv2
import numpy as np

from facetrail.analytics.detector import Detection, Downscaled, FaceDetector, shrink
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.matcher import Match, Matcher, match_score
from facetrail.analytics.motion import MotionGate, Region
from facetrail.analytics.quality import face_quality
from facetrail.analytics.tracker import FaceTrack, FaceTracker, Shot
from facetrail.config import AnalysisConfig
from facetrail.events import Box, SightingEvent, sighting_event_id
from facetrail.ingest.frames import Frame
from facetrail.ingest.pixels import Pixels
from facetrail.storage.objects import evidence_key

# A pass matched this far inside the threshold is settled: no more embeddings.
SETTLED_MARGIN = 0.1
CROP_MARGIN = 0.25
JPEG_QUALITY = 90


@dataclass(frozen=True)
class MatchedPass:
    event: SightingEvent
    crop_jpeg: bytes | None
    """JPEG of the best shot's face, only when the best shot changed since the last publication."""


@dataclass(frozen=True, eq=False)
class LookedFrame:
    """A frame with what can be learnt from it alone (CameraAnalyser.look)."""

    frame: Frame
    small: Downscaled
    detections: list[Detection] | None
    """None: the frame is still, so detection waits for analyse (needed only while a pass is open)."""
    qualities: list[float] | None
    searched: tuple[Region, ...] | None = None
    """Regions of `small` the detections come from; None: the whole frame."""


@dataclass
class CameraCounters:
    frames_analysed: int = 0
    faces_detected: int = 0
    passes: int = 0
    matched_passes: int = 0
    unmatched_passes: int = 0
    embeddings: int = 0
    still_frames_skipped: int = 0
    frames_searched_in_regions: int = 0
    """Analysed frames whose detector searched only where the picture moved."""
    detection_s: float = 0.0
    embedding_s: float = 0.0

    @property
    def detection_ms(self) -> float:
        """Mean detector time per analysed frame."""
        return 1000.0 * self.detection_s / self.frames_analysed if self.frames_analysed else 0.0

    @property
    def embedding_ms(self) -> float:
        """Mean embedding time per face embedded."""
        return 1000.0 * self.embedding_s / self.embeddings if self.embeddings else 0.0


@dataclass
class _Evidence:
    """Best known shot of a matched pass, cropped while its frame was at hand."""

    shot: Shot
    crop: np.ndarray
    sent_to: set[str] = field(default_factory=set)
    """Entries whose publications already carried this crop."""


@dataclass
class _PassState:
    votes: list[Match] = field(default_factory=list)
    announced: str | None = None
    evidence: _Evidence | None = None


def crop_face(pixels: Pixels, detection: Detection, margin: float = CROP_MARGIN) -> np.ndarray:
    """BGR of the face with a margin around it, clipped to the picture."""
    pad_x, pad_y = int(detection.w * margin), int(detection.h * margin)
    return pixels.region(detection.x - pad_x, detection.y - pad_y, detection.w + 2 * pad_x, detection.h + 2 * pad_y).copy()


def _quality(frame: Frame, detection: Detection) -> float:
    """face_quality from the face's own pixels: only its box is converted to BGR. The box moves to the
    crop's origin; the landmarks need not, as only their distances from each other count."""
    face = frame.pixels.region(detection.x, detection.y, detection.w, detection.h)
    return face_quality(face, replace(detection, x=0, y=0))


def _jpeg(crop: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # only an empty crop can fail, and crops are never empty
        raise ValueError("could not encode the evidence crop")
    return buffer.tobytes()


class CameraAnalyser:
    def __init__(
        self,
        camera_id: str,
        analysis: AnalysisConfig,
        detector: FaceDetector,
        embedder: FaceEmbedder,
        matcher: Matcher,
        watchlist_version: str = "",
    ):
        self.camera_id = camera_id
        self.analysis = analysis
        self.detector = detector
        self.embedder = embedder
        self.matcher = matcher
        self.watchlist_version = watchlist_version
        self.counters = CameraCounters()
        self._tracker = FaceTracker(analysis.tracker, min_quality=analysis.matching.min_quality)
        self._passes: dict[int, _PassState] = {}
        self._motion = MotionGate()
        self._detector_lock = threading.Lock()
        self._last_sweep: datetime | None = None

    def set_matcher(self, matcher: Matcher, watchlist_version: str | None = None) -> None:
        """Watch-list reloaded: later shots match against it, and open passes are re-judged at their end."""
        self.matcher = matcher
        if watchlist_version is not None:
            self.watchlist_version = watchlist_version

    def process(self, frame: Frame) -> list[MatchedPass]:
        return self.analyse(self.look(frame))

    def look(self, frame: Frame) -> LookedFrame:
        """What a frame shows on its own: whether it moved and, if it did, its faces.

        Needs no pass state, so a recording's next frames can be looked at on another
        thread (another core) while ``analyse`` tracks and embeds this one, in order.
        """
        began = time.perf_counter()
        # One downscale feeds both the motion gate and the detector: shrinking 1080p costs as much as the gate's own work.
        small = shrink(frame.pixels, self.detector.width_for(frame.pixels.width))
        motion = self._motion.compare(small.image)
        if motion.still:
            return LookedFrame(frame, small, None, None)  # detection waits: analyse knows whether a pass is open
        return self._detect(frame, small, began, self._where_to_search(frame.captured_at, motion.regions))

    def analyse(self, looked: LookedFrame) -> list[MatchedPass]:
        """Track, embed and match one looked-at frame; frames must come in order."""
        if looked.detections is None:
            if not self._tracker.open_tracks:
                self.counters.still_frames_skipped += 1  # nothing tracked and nothing moved: nobody new
                return []
            looked = self._detect(looked.frame, looked.small, time.perf_counter())  # a tracked face may stand still
        elif looked.searched is not None and self._a_tracked_face_outside(looked):
            # a tracked face stood still while others moved: search it all (counted once, as searched whole)
            looked = self._detect(looked.frame, looked.small, time.perf_counter(), replaces=looked)
        frame = looked.frame  # its full-resolution BGR is converted only if a face is embedded or cropped
        update = self._tracker.update(frame.captured_at, frame.index, looked.detections, looked.qualities)
        out = [p for track in update.ended if (p := self._close(track)) is not None]
        for track, _ in update.improved:
            self._passes.setdefault(track.track_id, _PassState())
        out.extend(self._embed_and_match(frame, update.to_embed))
        for track, shot in update.improved:
            self._keep_evidence(frame, track, shot)
        return out

    def _where_to_search(self, now: datetime, moved: tuple[Region, ...] | None) -> tuple[Region, ...] | None:
        """The regions that moved, or None (everywhere) when a sweep is due: a face that never moved
        (there before the camera started, or come in amid motion everywhere) is found by a sweep."""
        sweep = self.analysis.detector.sweep_every_s
        if moved is None or not self.analysis.detector.motion_regions or self._last_sweep is None \
                or (now - self._last_sweep).total_seconds() >= sweep:
            self._last_sweep = now
            return None
        return moved

    def _a_tracked_face_outside(self, looked: LookedFrame) -> bool:
        """True when an open track's predicted box, where inside the picture, is not wholly inside a searched region."""
        scale, (height, width) = looked.small.scale, looked.small.image.shape[:2]
        for track in self._tracker.open_tracks:
            box = track.predicted(looked.frame.captured_at)
            x0, y0 = max(0.0, box.x / scale), max(0.0, box.y / scale)
            x1, y1 = min(width, (box.x + box.w) / scale), min(height, (box.y + box.h) / scale)
            if x1 <= x0 or y1 <= y0:
                continue  # predicted out of the picture: it left, and its track ends when it is missed long enough
            if not any(x <= x0 and y <= y0 and x1 <= x + w and y1 <= y + h for x, y, w, h in looked.searched or ()):
                return True
        return False

    def _detect(self, frame: Frame, small: Downscaled, began: float, regions: tuple[Region, ...] | None = None,
                replaces: LookedFrame | None = None) -> LookedFrame:
        """Detect in the regions (None: everywhere); `replaces` is a regions-only look at the same frame, discounted."""
        with self._detector_lock:  # look and analyse may run on two threads; OpenCV's detector is not thread-safe
            detections = self.detector.detect_in(small, regions)
            self.counters.detection_s += time.perf_counter() - began
            if replaces is not None:
                self.counters.frames_analysed -= 1
                self.counters.frames_searched_in_regions -= 1
                self.counters.faces_detected -= len(replaces.detections or ())
            self.counters.frames_analysed += 1
            self.counters.frames_searched_in_regions += regions is not None
            self.counters.faces_detected += len(detections)
        qualities = [_quality(frame, d) for d in detections]
        return LookedFrame(frame, small, detections, qualities, searched=regions)

    def open_since(self) -> datetime | None:
        """Start of the oldest pass still open: a resumed run must restart there to re-create it whole."""
        return min((t.first_seen for t in self._tracker.open_tracks), default=None)

    def finish(self) -> list[MatchedPass]:
        return [p for track in self._tracker.finish() if (p := self._close(track)) is not None]

    def _embed_and_match(self, frame: Frame, to_embed: list[tuple[FaceTrack, Shot]]) -> list[MatchedPass]:
        wanted = [(t, s) for t, s in to_embed if not self._settled(self._passes[t.track_id])]
        if not wanted:
            return []
        image = frame.image
        began = time.perf_counter()
        embeddings = self.embedder.embed(image, [shot.detection for _, shot in wanted])
        self.counters.embedding_s += time.perf_counter() - began
        self.counters.embeddings += len(wanted)
        matches = self.matcher.match_many(embeddings)
        del embeddings  # matched or not, embeddings are never kept
        out = []
        for (track, shot), match in zip(wanted, matches):
            self._tracker.mark_embedded(track, shot)
            state = self._passes[track.track_id]
            if match is None:
                continue
            state.votes.append(match)
            if state.announced is None:
                state.announced = match.entry_id
                state.evidence = _Evidence(shot, crop_face(frame.pixels, shot.detection))
                out.append(self._publish(track, state, match.entry_id, final=False))
        return out

    def _keep_evidence(self, frame: Frame, track: FaceTrack, shot: Shot) -> None:
        """Only passes that matched keep a crop, and only of their best shot."""
        state = self._passes.get(track.track_id)
        if state is None or state.evidence is None or shot.quality <= state.evidence.shot.quality:
            return
        state.evidence = _Evidence(shot, crop_face(frame.pixels, shot.detection))

    def _settled(self, state: _PassState) -> bool:
        return any(v.distance <= self.matcher.threshold - SETTLED_MARGIN for v in state.votes)

    def _identity(self, state: _PassState) -> str | None:
        """Entry most matching shots voted for (ties: the closest), among entries still matchable."""
        votes = [v for v in state.votes if self.matcher.knows(v.entry_id)]
        if not votes:
            return None
        tally = Counter(v.entry_id for v in votes)
        return min(tally, key=lambda e: (-tally[e], min(v.distance for v in votes if v.entry_id == e)))

    def _close(self, track: FaceTrack) -> MatchedPass | None:
        state = self._passes.pop(track.track_id, _PassState())
        self.counters.passes += 1
        entry_id = self._identity(state)
        if entry_id is None:
            self.counters.unmatched_passes += 1
            return None
        self.counters.matched_passes += 1
        return self._publish(track, state, entry_id, final=True)

    def _publish(self, track: FaceTrack, state: _PassState, entry_id: str, final: bool) -> MatchedPass:
        distance = min(v.distance for v in state.votes if v.entry_id == entry_id)
        evidence = state.evidence
        shot = evidence.shot if evidence is not None else track.best
        event_id = sighting_event_id(self.camera_id, entry_id, track.first_seen)
        event = SightingEvent.create(
            camera_id=self.camera_id,
            entry_id=entry_id,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            score=match_score(distance),
            box=Box(x=shot.detection.x, y=shot.detection.y, w=shot.detection.w, h=shot.detection.h),
            quality=min(1.0, max(0.0, shot.quality)),
            evidence_key=evidence_key(self.camera_id, track.first_seen, event_id),
            watchlist_version=self.watchlist_version,
            final=final,
        )
        crop = None
        if evidence is not None and entry_id not in evidence.sent_to:
            crop = _jpeg(evidence.crop)
            evidence.sent_to.add(entry_id)
        return MatchedPass(event=event, crop_jpeg=crop)
