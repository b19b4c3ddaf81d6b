"""The per-camera analyser: frames in, matched passes out.

Per frame: detect, score quality, then embed the faces worth it (within a per-frame
budget: faces whose track geometry alone cannot tell first, then the shots each pass
wants, analytics.passes) on the full-resolution frame, track with position and
appearance, and search every embedded shot against the watch-list. A pass keeps, in
memory and for its life only, its track's mean appearance, its shots' distances to
their nearest entries and the normalised mean of its embedded shots (the appearance it is
decided on, analytics.passes); it is announced the moment its evidence is strong enough (fast
alerts) and published again, ``final``, when it ends, naming the entry its fused
evidence points at. A pass that matched nobody only increments a counter: nothing of
it is stored, logged or published.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

import cv2
import numpy as np

from facetrail.analytics.detector import Detection, Downscaled, FaceDetector, shrink
from facetrail.analytics.embedder import FaceEmbedder
from facetrail.analytics.matcher import Matcher, match_score
from facetrail.analytics.motion import MotionGate, Region
from facetrail.analytics.passes import Candidate, Decision, PassEvidence, PassPolicy, Rule
from facetrail.analytics.quality import face_quality
from facetrail.analytics.tracker import AppearanceRule, FaceTrack, FaceTracker, Linked, Proposal, Shot
from facetrail.config import AnalysisConfig
from facetrail.events import Box, SightingEvent, sighting_event_id
from facetrail.ingest.frames import Frame
from facetrail.ingest.pixels import Pixels
from facetrail.object_keys import evidence_key

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
    evidence: PassEvidence = field(default_factory=PassEvidence)
    """What the pass's embedded shots said (distances to their nearest entries, never the embeddings)."""
    announced: Decision | None = None
    crop: _Evidence | None = None


@dataclass(frozen=True)
class TracedShot:
    """One face of a pass as the analyser saw it: for tests and benchmarks (never set in a deployment)."""

    camera_id: str
    track_id: int
    frame_index: int
    quality: float
    detection: Detection
    candidates: tuple[Candidate, ...] | None
    """The entries its embedding was nearest to; None when it was not embedded for matching."""
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)
    """Its embedding when it was embedded for matching (trace mode only: a deployment never keeps one)."""


@dataclass(frozen=True)
class TracedPass:
    camera_id: str
    track_id: int
    first_seen: datetime
    last_seen: datetime
    decision: Decision | None
    embedded: int
    rejoined: int


class PassTrace(Protocol):
    """Receives every analysed face and every closed pass (tests and benchmarks only)."""

    def shot(self, traced: TracedShot) -> None: ...

    def closed(self, traced: TracedPass) -> None: ...


def pass_policy(analysis: AnalysisConfig) -> PassPolicy:
    passes = analysis.passes
    return PassPolicy(max_embeddings=passes.max_embeddings, fuse_top=passes.fuse_top, fusion=passes.fusion,
                      quality_weighted=passes.quality_weighted)


def appearance_rule(embedder: FaceEmbedder) -> AppearanceRule:
    space = embedder.space
    return AppearanceRule(space.metric, space.track_different_above, space.track_same_below)


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
        *,
        policy: PassPolicy | None = None,
        trace: PassTrace | None = None,
    ):
        self.camera_id = camera_id
        self.analysis = analysis
        self.detector = detector
        self.embedder = embedder
        self.matcher = matcher
        self.watchlist_version = watchlist_version
        self.counters = CameraCounters()
        self.policy = policy or pass_policy(analysis)
        self._trace = trace
        self._tracker = FaceTracker(analysis.tracker, appearance_rule(embedder))
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
                if not self._tracker.lost_tracks:
                    return []
                looked = replace(looked, detections=[], qualities=[])  # only to let lost passes end in time
            else:
                looked = self._detect(looked.frame, looked.small, time.perf_counter())  # a tracked face may stand still
        elif looked.searched is not None and self._a_tracked_face_outside(looked):
            # a tracked face stood still while others moved: search it all (counted once, as searched whole)
            looked = self._detect(looked.frame, looked.small, time.perf_counter(), replaces=looked)
        frame = looked.frame  # only the boxes of faces embedded or cropped are converted to BGR
        detections, qualities = looked.detections or [], looked.qualities or []
        proposals = self._tracker.propose(frame.captured_at, detections)
        fresh = {i: _PassState() for i, p in enumerate(proposals) if p.track is None}  # passes this frame may start
        wanted, to_embed = self._choose(proposals, qualities, fresh)
        looks, candidates = self._embed(frame, detections, to_embed, wanted)
        update = self._tracker.update(frame.captured_at, frame.index, detections, qualities, looks)
        out = [p for track in update.ended if (p := self._close(track)) is not None]
        for linked in update.linked:
            self._passes.setdefault(linked.track.track_id, fresh.get(linked.index) or _PassState())
            out.extend(self._learn(frame, linked, candidates.get(linked.index), looks[linked.index]))
        del looks  # the tracks and passes keep their means; the frame's embeddings go
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

    @property
    def open_passes(self) -> int:
        """Passes held in memory (followed, or lost and waiting to be taken up again), with their appearance and
        distances; once a pass ends nothing of it is held."""
        return len(self._tracker.open_tracks) + len(self._tracker.lost_tracks) + len(self._passes)

    def open_since(self) -> datetime | None:
        """Start of the oldest pass still open: a resumed run must restart there to re-create it whole."""
        return min((t.first_seen for t in self._tracker.open_tracks + self._tracker.lost_tracks), default=None)

    def finish(self) -> list[MatchedPass]:
        return [p for track in self._tracker.finish() if (p := self._close(track)) is not None]

    def _rule(self) -> Rule:
        return Rule(self.matcher.threshold, self.matcher.max_distance_ratio, self.matcher.threshold_of)

    def _search(self, embedding: np.ndarray) -> tuple[Candidate, ...]:
        """A pass's mean embedding searched like one face (the watch-list in force now)."""
        return self.matcher.candidates_many(embedding[None, :])[0]

    def _choose(self, proposals: list[Proposal], qualities: list[float],
                fresh: dict[int, _PassState]) -> tuple[set[int], list[int]]:
        """Which faces to embed for matching (each pass's policy) and, within the per-frame budget, which at all:
        faces geometry cannot place come first, then passes with the fewest shots, then the best faces."""
        rule, gate = self._rule(), self.analysis.matching.min_quality

        def state(index: int) -> _PassState:
            track = proposals[index].track
            return fresh[index] if track is None else self._passes.setdefault(track.track_id, _PassState())

        wanted: set[int] = set()
        for index, quality in enumerate(qualities):
            if quality < gate:
                continue
            evidence = state(index).evidence
            if evidence.wants(quality, self.policy, self.policy.settle and evidence.settled(self.policy, rule)):
                wanted.add(index)
        useful = [i for i, q in enumerate(qualities) if q >= gate and (i in wanted or proposals[i].ambiguous)]
        useful.sort(key=lambda i: (not proposals[i].ambiguous, state(i).evidence.embedded, -qualities[i]))
        return wanted, useful[: self.analysis.passes.max_embeddings_per_frame]

    def _embed(self, frame: Frame, detections: list[Detection], to_embed: list[int],
               wanted: set[int]) -> tuple[list[np.ndarray | None], dict[int, tuple[Candidate, ...]]]:
        """Per detection its embedding (or None), and the watch-list candidates of those wanted for matching
        (their embeddings, in the first list, join their pass's mean in _learn and go with the frame)."""
        looks: list[np.ndarray | None] = [None] * len(detections)
        if not to_embed:
            return looks, {}
        began = time.perf_counter()
        embeddings = self.embedder.embed(frame.pixels, [detections[i] for i in to_embed])
        self.counters.embedding_s += time.perf_counter() - began
        self.counters.embeddings += len(to_embed)
        for row, index in enumerate(to_embed):
            looks[index] = embeddings[row]
        matched = [row for row, index in enumerate(to_embed) if index in wanted]
        found = self.matcher.candidates_many(embeddings[matched]) if matched else []
        return looks, {to_embed[row]: shot for row, shot in zip(matched, found)}

    def _learn(self, frame: Frame, linked: Linked, candidates: tuple[Candidate, ...] | None,
               embedding: np.ndarray | None) -> list[MatchedPass]:
        """One face of a pass: its shot's candidates (and embedding) join the pass's evidence; announce the pass once
        they suffice."""
        track, shot = linked.track, linked.shot
        state = self._passes[track.track_id]
        if self._trace is not None:
            self._trace.shot(TracedShot(self.camera_id, track.track_id, shot.frame_index, shot.quality, shot.detection,
                                        candidates, embedding if candidates is not None else None))
        if candidates is None:
            return []
        state.evidence.add(candidates, shot.quality, self.policy, self._rule(), embedding, self._search)
        if state.announced is not None:
            return []
        decision = state.evidence.alert(self.policy, self._rule(), self.matcher.knows)
        if decision is None:
            return []
        state.announced = decision
        state.crop = _Evidence(shot, crop_face(frame.pixels, shot.detection))
        return [self._publish(track, state, decision, final=False)]

    def _keep_evidence(self, frame: Frame, track: FaceTrack, shot: Shot) -> None:
        """Only passes that matched keep a crop, and only of their best shot."""
        state = self._passes.get(track.track_id)
        if state is None or state.crop is None or shot.quality <= state.crop.shot.quality:
            return
        state.crop = _Evidence(shot, crop_face(frame.pixels, shot.detection))

    def _decision(self, state: _PassState) -> Decision | None:
        """The fused evidence's entry, or the announced one when the end of the pass no longer clears the rule
        (an alert already went out: the pass stays a candidate for people to review)."""
        decision = state.evidence.decide(self.policy, self._rule(), self.matcher.knows)
        if decision is None and state.announced is not None and self.matcher.knows(state.announced.entry_id):
            return state.announced
        return decision

    def _close(self, track: FaceTrack) -> MatchedPass | None:
        state = self._passes.pop(track.track_id, _PassState())
        self.counters.passes += 1
        decision = self._decision(state)
        if self._trace is not None:
            self._trace.closed(TracedPass(self.camera_id, track.track_id, track.first_seen, track.last_seen, decision,
                                          state.evidence.embedded, track.rejoined))
        if decision is None:
            self.counters.unmatched_passes += 1
            return None
        self.counters.matched_passes += 1
        return self._publish(track, state, decision, final=True)

    def _publish(self, track: FaceTrack, state: _PassState, decision: Decision, final: bool) -> MatchedPass:
        entry_id, distance = decision.entry_id, decision.distance
        evidence = state.crop
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
