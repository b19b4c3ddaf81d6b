"""The per-camera analyser on synthetic footage: a real face photo moving across a real-looking background."""

import logging
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from facetrail.analytics.matcher import Matcher
from facetrail.analytics.pipeline import CameraAnalyser
from facetrail.config import AnalysisConfig
from facetrail.ingest.frames import Frame
from facetrail.storage.objects import evidence_key

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
CAMERA = "gate-1"


@pytest.fixture(scope="module")
def face_patch(obama2, hog_detector):
    """obama2.jpg's head and shoulders, shrunk so the face is ~140 px wide."""
    face = hog_detector.detect(obama2)[0]
    pad = int(face.w * 0.6)
    patch = obama2[max(0, face.y - pad) : face.y + face.h + pad, max(0, face.x - pad) : face.x + face.w + pad]
    scale = 140 / face.w
    return cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def background():
    rng = np.random.default_rng(7)
    noise = rng.integers(60, 190, (720 // 8, 1280 // 8, 3), np.uint8)
    return cv2.resize(noise, (1280, 720), interpolation=cv2.INTER_CUBIC)


def walk(face_patch, background, start_s=0.0, steps=8, first_index=0):
    """Frames at 5 fps of the face moving 30 px right each frame."""
    frames = []
    for i in range(steps):
        image = background.copy()
        x, y = 200 + 30 * i, 150
        image[y : y + face_patch.shape[0], x : x + face_patch.shape[1]] = face_patch
        frames.append(Frame.of_bgr(CAMERA, first_index + i, T0 + timedelta(seconds=start_s + 0.2 * i), image))
    return frames


@pytest.fixture(scope="module")
def obama_enrolled(obama, hog_detector, embedder, face_embedding, make_person):
    return Matcher([make_person("obama", face_embedding(obama, hog_detector, embedder))], threshold=0.5)


@pytest.fixture(scope="module")
def biden_enrolled(biden, hog_detector, embedder, face_embedding, make_person):
    return Matcher([make_person("biden", face_embedding(biden, hog_detector, embedder))], threshold=0.5)


def analyse(frames, matcher, hog_detector, embedder, **analysis):
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(**analysis), hog_detector, embedder, matcher, watchlist_version="v7")
    passes = [p for frame in frames for p in analyser.process(frame)]
    return analyser, passes + analyser.finish()


def test_an_enrolled_face_walking_past_makes_one_pass_announced_then_final(face_patch, background, obama_enrolled, hog_detector, embedder):
    analyser, passes = analyse(walk(face_patch, background), obama_enrolled, hog_detector, embedder)
    assert [p.event.final for p in passes] == [False, True]
    first, final = passes[0].event, passes[1].event
    assert first.event_id == final.event_id and first.entry_id == "obama"
    assert final.first_seen == T0 and final.last_seen == T0 + timedelta(seconds=1.4)
    assert final.score > 0.5 and final.watchlist_version == "v7" and final.camera_id == CAMERA
    assert final.evidence_key == evidence_key(CAMERA, T0, final.event_id)
    assert 100 < final.box.w < 190 and 150 < final.box.x + final.box.w / 2 < 700
    assert analyser.counters.passes == 1 and analyser.counters.matched_passes == 1 and analyser.counters.unmatched_passes == 0


def test_the_first_publication_carries_a_jpeg_crop_of_the_face(face_patch, background, obama_enrolled, hog_detector, embedder):
    _, passes = analyse(walk(face_patch, background), obama_enrolled, hog_detector, embedder)
    crop = cv2.imdecode(np.frombuffer(passes[0].crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and 140 <= crop.shape[1] <= 300
    assert passes[1].crop_jpeg is None  # the best shot did not change: the stored crop stands


def test_a_pass_is_embedded_at_most_max_embeddings_times(face_patch, background, biden_enrolled, hog_detector, embedder):
    analyser, _ = analyse(walk(face_patch, background, steps=10), biden_enrolled, hog_detector, embedder,
                          passes={"max_embeddings": 2})
    assert analyser.counters.embeddings == 2


def test_a_pass_is_embedded_along_its_walk_not_only_at_its_start(face_patch, background, biden_enrolled, hog_detector,
                                                                  embedder):
    traced = Traced()
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, biden_enrolled, trace=traced)
    for frame in walk(face_patch, background, steps=10):
        analyser.process(frame)
    analyser.finish()
    embedded = [s.frame_index for s in traced.shots if s.candidates is not None]
    assert len(embedded) >= 5 and embedded[-1] >= 8


def test_an_unenrolled_face_makes_no_event_and_only_counts(face_patch, background, biden_enrolled, hog_detector, embedder, caplog):
    caplog.set_level(logging.DEBUG)
    analyser, passes = analyse(walk(face_patch, background), biden_enrolled, hog_detector, embedder)
    assert passes == []
    counters = analyser.counters
    assert counters.frames_analysed == 8 and counters.faces_detected == 8
    assert counters.passes == 1 and counters.unmatched_passes == 1 and counters.matched_passes == 0
    assert counters.embeddings >= 1
    assert [r for r in caplog.records if r.name.startswith("facetrail")] == []


def test_an_unmatched_face_leaves_no_state_behind_once_its_pass_ends(face_patch, background, biden_enrolled, hog_detector, embedder):
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, biden_enrolled)
    for frame in walk(face_patch, background, steps=4):
        analyser.process(frame)
    # While the pass is open it holds its distances to the nearest entries and no crop (it matched nobody).
    assert all(state.crop is None and state.announced is None for state in analyser._passes.values())
    assert analyser.open_passes > 0
    analyser.finish()
    assert analyser.open_passes == 0


def test_an_empty_watch_list_makes_no_events(face_patch, background, hog_detector, embedder):
    analyser, passes = analyse(walk(face_patch, background, steps=3), Matcher([], 0.5), hog_detector, embedder)
    assert passes == [] and analyser.counters.unmatched_passes == 1


def test_two_walks_separated_by_a_gap_are_two_passes(face_patch, background, obama_enrolled, hog_detector, embedder):
    frames = walk(face_patch, background, steps=3) + walk(face_patch, background, start_s=5.0, steps=3, first_index=100)
    analyser, passes = analyse(frames, obama_enrolled, hog_detector, embedder)
    finals = [p.event for p in passes if p.event.final]
    assert len(finals) == 2 and finals[0].event_id != finals[1].event_id
    assert analyser.counters.matched_passes == 2


def test_a_reloaded_watch_list_is_used_for_later_shots(face_patch, background, obama_enrolled, biden_enrolled, hog_detector, embedder):
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, biden_enrolled)
    first = walk(face_patch, background, steps=3)
    assert [p for f in first for p in analyser.process(f)] == []
    analyser.set_matcher(obama_enrolled)
    later = walk(face_patch, background, start_s=5.0, steps=3, first_index=100)
    passes = [p for f in later for p in analyser.process(f)] + analyser.finish()
    assert {p.event.entry_id for p in passes} == {"obama"}
    assert analyser.counters.unmatched_passes == 1 and analyser.counters.matched_passes == 1


def test_a_still_empty_scene_skips_detection_until_someone_walks_in(face_patch, background, obama_enrolled, hog_detector, embedder):
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, obama_enrolled)
    empty = [Frame.of_bgr(CAMERA, i, T0 + timedelta(seconds=i * 0.2), background.copy()) for i in range(5)]
    for frame in empty:
        assert analyser.process(frame) == []
    assert analyser.counters.still_frames_skipped == 4
    out = [p for frame in walk(face_patch, background, start_s=2.0, first_index=5) for p in analyser.process(frame)]
    out += analyser.finish()
    assert {p.event.entry_id for p in out} == {"obama"} and analyser.counters.still_frames_skipped == 4


def test_the_analyser_measures_detection_and_embedding_time(face_patch, background, obama_enrolled, hog_detector, embedder):
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, obama_enrolled)
    for frame in walk(face_patch, background):
        analyser.process(frame)
    assert analyser.counters.detection_ms > 0 and analyser.counters.embedding_ms > 0


class Traced:
    """Collects the analyser's trace (tests only)."""

    def __init__(self):
        self.shots, self.passes = [], []

    def shot(self, traced):
        self.shots.append(traced)

    def closed(self, traced):
        self.passes.append(traced)


def test_a_walk_hidden_for_two_seconds_stays_one_pass_with_one_alert(face_patch, background, obama_enrolled, hog_detector,
                                                                     embedder):
    before = walk(face_patch, background, steps=5)
    hidden = [Frame.of_bgr(CAMERA, 5 + i, T0 + timedelta(seconds=1.0 + 0.2 * i), background.copy()) for i in range(10)]
    after = [Frame.of_bgr(CAMERA, 15 + i, T0 + timedelta(seconds=3.0 + 0.2 * i), _placed(face_patch, background, 800 + 30 * i))
             for i in range(5)]
    analyser, passes = analyse(before + hidden + after, obama_enrolled, hog_detector, embedder)
    assert [p.event.final for p in passes] == [False, True]
    assert passes[1].event.first_seen == T0 and passes[1].event.last_seen == after[-1].captured_at
    assert analyser.counters.passes == 1


def _placed(face_patch, background, x: int) -> np.ndarray:
    image = background.copy()
    image[150:150 + face_patch.shape[0], x:x + face_patch.shape[1]] = face_patch
    return image


def _events(passes):
    return [(p.event.event_id, p.event.entry_id, p.event.first_seen, p.event.last_seen, p.event.box, p.event.final) for p in passes]


def test_looking_ahead_on_another_thread_gives_the_same_passes_as_processing_in_turn(face_patch, background, obama_enrolled, hog_detector, embedder):
    from facetrail.ingest.readahead import read_ahead

    frames = walk(face_patch, background) + walk(face_patch, background, start_s=6.0, first_index=20)
    _, in_turn = analyse(frames, obama_enrolled, hog_detector, embedder)
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, obama_enrolled, watchlist_version="v7")
    ahead = [p for looked in read_ahead((analyser.look(f) for f in frames), 4) for p in analyser.analyse(looked)]
    ahead += analyser.finish()
    assert len(in_turn) == 4 and _events(ahead) == _events(in_turn)


def test_a_face_that_stops_moving_is_still_tracked_while_its_pass_is_open(face_patch, background, obama_enrolled, hog_detector, embedder):
    frames = walk(face_patch, background)
    standing = [Frame.of_bgr(CAMERA, 8 + i, T0 + timedelta(seconds=1.6 + 0.2 * i), frames[-1].image.copy()) for i in range(5)]
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(), hog_detector, embedder, obama_enrolled)
    for frame in frames:
        analyser.process(frame)
    for frame in standing:
        looked = analyser.look(frame)
        assert looked.detections is None  # a still frame: detection waits for analyse, which knows a pass is open
        analyser.analyse(looked)
    final = [p for p in analyser.finish() if p.event.final]
    assert final[0].event.last_seen == standing[-1].captured_at and analyser.counters.still_frames_skipped == 0


def _with_a_moving_box(image: np.ndarray, step: int) -> np.ndarray:
    """The picture with a bright box moving along its bottom left, far from the face: motion elsewhere."""
    moved = image.copy()
    x = 40 + 25 * (step % 16)
    moved[600:680, x:x + 60] = 240
    return moved


def test_a_walk_searched_only_where_it_moved_makes_the_same_passes_as_searched_whole(face_patch, background, obama_enrolled, hog_detector, embedder):
    frames = walk(face_patch, background) + walk(face_patch, background, start_s=6.0, first_index=20)
    regions, in_regions = analyse(frames, obama_enrolled, hog_detector, embedder)
    _, whole = analyse(frames, obama_enrolled, hog_detector, embedder, detector={"motion_regions": False})
    assert len(whole) == 4 and _events(in_regions) == _events(whole)
    assert regions.counters.frames_searched_in_regions > 0


def test_a_tracked_face_standing_still_while_something_else_moves_stays_in_its_pass(face_patch, background, obama_enrolled, hog_detector, embedder):
    frames = walk(face_patch, background)
    standing = [Frame.of_bgr(CAMERA, 8 + i, T0 + timedelta(seconds=1.6 + 0.2 * i), _with_a_moving_box(frames[-1].image, i))
                for i in range(10)]
    no_sweeps = AnalysisConfig(detector={"sweep_every_s": 1000.0})
    analyser = CameraAnalyser(CAMERA, no_sweeps, hog_detector, embedder, obama_enrolled)
    for frame in frames:
        analyser.process(frame)
    for frame in standing:
        looked = analyser.look(frame)
        assert looked.searched is not None  # only the moving box's region was searched ahead of analyse
        analyser.analyse(looked)
    final = [p for p in analyser.finish() if p.event.final]
    assert len(final) == 1 and final[0].event.last_seen == standing[-1].captured_at


def _fading_in(face_patch, background, steps: int, then: int) -> list[Frame]:
    """A face that appears without moving, too slowly for the motion gate, while a box moves elsewhere."""
    frames = []
    for i in range(steps + then):
        image = background.astype(np.float32)
        alpha = min(1.0, i / steps)
        face = image[150:150 + face_patch.shape[0], 500:500 + face_patch.shape[1]]
        face[:] = (1 - alpha) * face + alpha * face_patch
        frames.append(Frame.of_bgr(CAMERA, i, T0 + timedelta(seconds=0.2 * i), _with_a_moving_box(image.astype(np.uint8), i)))
    return frames


def test_a_face_that_appears_without_moving_is_found_by_the_whole_frame_sweep(face_patch, background, obama_enrolled, hog_detector, embedder):
    frames = _fading_in(face_patch, background, steps=25, then=15)
    _, swept = analyse(frames, obama_enrolled, hog_detector, embedder, detector={"sweep_every_s": 2.0})
    _, never_swept = analyse(frames, obama_enrolled, hog_detector, embedder, detector={"sweep_every_s": 1000.0})
    assert {p.event.entry_id for p in swept} == {"obama"} and never_swept == []


def test_with_mean_fusion_a_pass_is_decided_on_the_mean_of_the_shots_it_embedded(face_patch, background, obama_enrolled,
                                                                               hog_detector, embedder):
    traced = Traced()
    analyser = CameraAnalyser(CAMERA, AnalysisConfig(passes={"fusion": "mean"}), hog_detector, embedder, obama_enrolled,
                              trace=traced)
    passes = [p for frame in walk(face_patch, background) for p in analyser.process(frame)] + analyser.finish()
    embedded = [s.embedding for s in traced.shots if s.candidates is not None]
    mean = np.mean(embedded, axis=0)
    mean *= np.mean([np.linalg.norm(e) for e in embedded]) / np.linalg.norm(mean)
    final = [p.event for p in passes if p.event.final]
    assert len(embedded) >= 3 and len(final) == 1
    assert final[0].score == pytest.approx(1 - float(obama_enrolled.distances(mean)[0, 0]), abs=1e-4)
