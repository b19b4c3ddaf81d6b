from pathlib import Path

import numpy as np
import pytest

from facetrail.analytics.detector import DetectorError, HogDetector, YuNetDetector
from facetrail.analytics.face_models import create_detector
from facetrail.config import DetectorConfig


def test_hog_finds_the_one_face_in_obama_jpg(obama, hog_detector):
    faces = hog_detector.detect(obama)
    assert len(faces) == 1
    face = faces[0]
    # The box is in full-resolution pixels although detection ran at 640 px wide.
    assert 200 < face.w < 320 and 330 < face.x + face.w / 2 < 650 and face.landmarks is None


def test_yunet_finds_the_one_face_in_obama_jpg_with_landmarks(obama, yunet_detector):
    faces = yunet_detector.detect(obama)
    assert len(faces) == 1
    face = faces[0]
    assert 200 < face.w < 320 and face.score > 0.8
    assert face.landmarks.shape == (5, 2)
    right_eye, left_eye = face.landmarks[0], face.landmarks[1]
    assert face.x < right_eye[0] < left_eye[0] < face.x + face.w


def test_both_backends_agree_on_where_the_face_is(obama, hog_detector, yunet_detector):
    hog, yunet = hog_detector.detect(obama)[0], yunet_detector.detect(obama)[0]
    assert np.hypot(hog.centre[0] - yunet.centre[0], hog.centre[1] - yunet.centre[1]) < 0.25 * hog.w


def test_a_blank_frame_has_no_faces(hog_detector, yunet_detector):
    blank = np.full((480, 640, 3), 127, np.uint8)
    assert hog_detector.detect(blank) == [] and yunet_detector.detect(blank) == []


def test_faces_narrower_than_min_face_px_are_dropped(obama, yunet_model_path):
    strict = YuNetDetector(yunet_model_path, detect_width=640, min_face_px=400)
    assert strict.detect(obama) == []


def test_create_detector_names_a_missing_yunet_model(tmp_path):
    config = DetectorConfig(backend="yunet", yunet_model=tmp_path / "missing.onnx")
    with pytest.raises(DetectorError, match="not found"):
        create_detector(config)


def test_create_detector_refuses_a_file_that_is_not_a_model(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"not an onnx model")
    with pytest.raises(DetectorError, match="cannot be loaded"):
        create_detector(DetectorConfig(backend="yunet", yunet_model=bogus))


def test_the_default_detector_falls_back_to_hog_when_no_yunet_model_is_found(tmp_path, monkeypatch):
    from facetrail.config import ModelsConfig

    monkeypatch.delenv("FACETRAIL_MODEL_DIR", raising=False)
    empty = ModelsConfig(dir=tmp_path, cache=tmp_path / "cache")
    assert isinstance(create_detector(DetectorConfig(), empty), HogDetector)


def test_the_default_detector_is_yunet_when_its_model_is_found(yunet_model_path, tmp_path, monkeypatch):
    from facetrail.config import ModelsConfig

    monkeypatch.delenv("FACETRAIL_MODEL_DIR", raising=False)
    found = ModelsConfig(dir=yunet_model_path.parent, cache=tmp_path / "cache")
    assert isinstance(create_detector(DetectorConfig(), found), YuNetDetector)


def test_a_downscale_shared_by_the_caller_gives_the_detectors_own_boxes(obama, yunet_detector):
    from facetrail.analytics.detector import downscale

    own = yunet_detector.detect(obama)
    shared = yunet_detector.detect(obama, downscale(obama, yunet_detector.width_for(obama.shape[1])))
    assert [(f.x, f.y, f.w, f.h) for f in shared] == [(f.x, f.y, f.w, f.h) for f in own]


def _on_a_wide_canvas(face_image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo placed in a 1080p grey frame, and where its top left is."""
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    small = face_image[::2, ::2]  # the face ~130 px wide, as a near walker's
    at = (1100, 300)
    canvas[at[1]:at[1] + small.shape[0], at[0]:at[0] + small.shape[1]] = small
    return canvas, at


def _region_around(face, scale: float, margin: int = 40) -> tuple[int, int, int, int]:
    """A region of the detection downscale holding the face with some margin."""
    x, y = int(face.x / scale) - margin, int(face.y / scale) - margin
    return x, y, int(face.w / scale) + 2 * margin, int(face.h / scale) + 2 * margin


@pytest.mark.parametrize("backend", ["hog_detector", "yunet_detector", "yunet_openvino_detector"])
def test_searching_only_a_region_around_the_face_finds_it_where_the_whole_frame_does(obama, backend, request):
    from facetrail.analytics.detector import downscale

    detector = request.getfixturevalue(backend)
    frame, _ = _on_a_wide_canvas(obama)
    small = downscale(frame, detector.width_for(frame.shape[1]))
    whole = detector.detect(frame, small)
    in_region = detector.detect(frame, small, (_region_around(whole[0], small.scale),))
    assert len(whole) == len(in_region) == 1
    a, b = whole[0], in_region[0]
    assert np.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1]) < 0.1 * a.w and abs(a.w - b.w) < 0.15 * a.w


def test_landmarks_found_in_a_region_are_in_full_frame_pixels(obama, yunet_detector):
    from facetrail.analytics.detector import downscale

    frame, _ = _on_a_wide_canvas(obama)
    small = downscale(frame, yunet_detector.width_for(frame.shape[1]))
    face = yunet_detector.detect(frame, small, (_region_around(yunet_detector.detect(frame, small)[0], small.scale),))[0]
    right_eye, left_eye = face.landmarks[0], face.landmarks[1]
    assert face.x < right_eye[0] < left_eye[0] < face.x + face.w and face.y < right_eye[1] < face.y + face.h / 2


def test_searching_only_a_region_away_from_the_face_finds_nothing(obama, yunet_detector):
    from facetrail.analytics.detector import downscale

    frame, _ = _on_a_wide_canvas(obama)
    small = downscale(frame, yunet_detector.width_for(frame.shape[1]))
    assert yunet_detector.detect(frame, small, ((0, 0, 200, 200),)) == []


@pytest.mark.parametrize("backend", ["yunet_detector", "yunet_openvino_detector"])
@pytest.mark.parametrize("margin", [37, 45, 61])
def test_regions_off_the_detectors_grid_find_the_same_box_as_the_whole_frame(obama, backend, margin, request):
    from facetrail.analytics.detector import downscale

    detector = request.getfixturevalue(backend)
    frame, _ = _on_a_wide_canvas(obama)
    small = downscale(frame, detector.width_for(frame.shape[1]))
    whole = detector.detect(frame, small)[0]
    in_region = detector.detect(frame, small, (_region_around(whole, small.scale, margin),))[0]
    assert max(abs(whole.x - in_region.x), abs(whole.y - in_region.y), abs(whole.w - in_region.w)) <= 3


def _motion_regions(count: int, seed: int = 7) -> list[tuple[int, int, int, int]]:
    """Regions of every size and place in a 960x540 downscale, as walkers' motion gives them."""
    rng = np.random.default_rng(seed)
    regions = []
    for _ in range(count):
        w, h = int(rng.integers(40, 500)), int(rng.integers(40, 300))
        regions.append((int(rng.integers(0, 960 - w)), int(rng.integers(0, 540 - h)), w, h))
    return regions


def test_laddered_regions_cover_their_motion_on_the_grid_without_overlapping():
    from facetrail.analytics.detector import GRID_PX, LADDER_PX, _laddered, _on_grid
    from facetrail.analytics.motion import merge_overlapping

    for first in range(0, 400, 2):
        moved = merge_overlapping([_on_grid(r, 540, 960) for r in _motion_regions(400)[first:first + 2]])
        boxes = _laddered(moved, 540, 960)
        if boxes is None:
            continue  # most of the picture: searched whole
        for x, y, w, h in moved:
            assert any(bx <= x and by <= y and x + w <= bx + bw and y + h <= by + bh for bx, by, bw, bh in boxes)
        for bx, by, bw, bh in boxes:
            assert bx % GRID_PX == by % GRID_PX == 0 and bw in LADDER_PX + (960,) and bh in LADDER_PX + (544,)
        assert merge_overlapping(boxes) == boxes


def test_motion_of_every_size_reaches_the_network_in_a_few_dozen_shapes():
    from facetrail.analytics.detector import _laddered, _on_grid

    grid_shapes, ladder_shapes = set(), set()
    for x, y, w, h in _motion_regions(2000):
        on_grid = _on_grid((x, y, w, h), 540, 960)
        grid_shapes.add((on_grid[2], on_grid[3]))
        ladder_shapes.update((bw, bh) for _, _, bw, bh in _laddered([on_grid], 540, 960) or [(0, 0, 960, 544)])
    assert len(grid_shapes) > 200 and len(ladder_shapes) <= 70, (len(grid_shapes), len(ladder_shapes))


def test_motion_over_most_of_the_picture_is_searched_as_the_whole_picture():
    from facetrail.analytics.detector import _laddered

    assert _laddered([(0, 0, 480, 320), (480, 192, 480, 320)], 540, 960) is None


def test_unset_detect_width_keeps_a_min_face_px_face_20_px_wide_for_yunet(yunet_model_path):
    wide_min = YuNetDetector(yunet_model_path, min_face_px=40)
    assert wide_min.width_for(1920) == 960 and wide_min.width_for(1280) == 640
    assert YuNetDetector(yunet_model_path, min_face_px=60).width_for(1920) == 640


def test_unset_detect_width_is_even_so_the_yuv_planes_shrink_in_halves(yunet_model_path):
    assert YuNetDetector(yunet_model_path, min_face_px=44).width_for(1920) == 872


def test_a_min_face_px_wider_than_the_frame_still_leaves_a_picture_to_search(yunet_model_path):
    detector = YuNetDetector(yunet_model_path, min_face_px=100_000)
    assert detector.width_for(1920) == 2 and detector.detect(np.zeros((1080, 1920, 3), np.uint8)) == []


def test_unset_detect_width_never_enlarges_a_frame(yunet_model_path):
    assert YuNetDetector(yunet_model_path, min_face_px=16).width_for(1280) == 1280


def test_a_set_detect_width_wins_over_min_face_px(yunet_model_path):
    assert YuNetDetector(yunet_model_path, detect_width=800, min_face_px=40).width_for(1920) == 800


def test_hog_detects_at_640_px_unless_told_otherwise():
    assert create_detector(DetectorConfig(backend="hog")).width_for(1920) == 640


def _walk_seen(detector, photo: Path, face_px: int, steps: int = 8) -> bool:
    """Whether the detector finds the photo's face, cut out at face_px wide, in any of `steps` 1080p frames along a walk."""
    from facetrail.demo.clips import scene
    from facetrail.demo.sprites import composite, cut_out

    sprite, background = cut_out(photo, face_px), scene("walk", 1920, 1080)
    for step in range(steps):
        frame = background.copy()
        composite(frame, sprite, 200 + step * 190, 420 + step * 7)
        if detector.detect(frame):
            return True
    return False


def test_most_faces_as_narrow_as_min_face_px_walking_across_1080p_are_found_by_default(yunet_model_path):
    from tests.analytics.lfw import LFW, identities

    if not (LFW / "labels.csv").is_file():
        pytest.skip(f"{LFW} is absent (../shared/faces/lfw-dev)")
    people = identities()
    photos = [LFW / people[name][0] for name in sorted(people)[:12]]
    detector = create_detector(DetectorConfig(backend="yunet", yunet_model=yunet_model_path))  # min_face_px 40
    # cut out 52 px wide by dlib's box, which is wider than YuNet's: YuNet measures these faces 40-45 px
    seen = [_walk_seen(detector, photo, 52) for photo in photos]
    # at the old defaults (640 px wide, score 0.8) the faces shrank to ~15 px and none of these walks was seen (10 are now)
    assert sum(seen) >= len(seen) // 2, seen


def test_yunet_on_openvino_finds_the_same_boxes_as_opencvs_face_detector(shared_dir, yunet_model_path):
    import av

    opencv = YuNetDetector(yunet_model_path, detect_width=960, runtime="opencv")
    openvino = YuNetDetector(yunet_model_path, detect_width=960, runtime="openvino")
    compared = 0
    for clip in ("crowd_street.mp4", "royal_opera_house_walkers.mp4"):
        with av.open(str(shared_dir / "videos" / clip)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index % 15:
                    continue
                image = frame.to_ndarray(format="bgr24")
                a = sorted((d.x, d.y, d.w, d.h) for d in opencv.detect(image))
                b = sorted((d.x, d.y, d.w, d.h) for d in openvino.detect(image))
                assert len(a) == len(b) and np.abs(np.array(a) - np.array(b)).max(initial=0) <= 1, (clip, index)
                compared += len(a)
    assert compared > 50


def test_the_default_yunet_runs_on_openvino_when_it_is_installed(yunet_model_path):
    from facetrail.analytics.face_models import Choice, detector_of

    assert detector_of(Choice(yunet_model_path, None), DetectorConfig()).runtime == "openvino"
