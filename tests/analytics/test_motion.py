import numpy as np

from facetrail.analytics.motion import MotionGate


def _frame(value: int, noise: int = 0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((360, 640, 3), value, np.int16) + rng.integers(-noise, noise + 1, (360, 640, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def test_the_first_frame_is_never_still():
    assert not MotionGate().still(_frame(100))


def test_a_frame_with_only_sensor_noise_is_still():
    gate = MotionGate()
    gate.still(_frame(100, noise=6, seed=1))
    assert gate.still(_frame(100, noise=6, seed=2))


def test_a_person_entering_is_not_still():
    gate = MotionGate()
    empty = _frame(100)
    gate.still(empty)
    entering = empty.copy()
    entering[100:300, 250:380] = 200  # a figure about a fifth of the picture wide
    assert not gate.still(entering)


def test_a_frame_judged_on_its_detection_downscale_is_judged_as_on_full_resolution():
    from facetrail.analytics.detector import downscale

    rng = np.random.default_rng(3)
    full = [rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8) for _ in range(2)]
    full[1][:] = full[0]
    full[1][300:700, 800:1100] = 255  # a figure entering
    on_full, on_small = MotionGate(), MotionGate()
    verdicts_full = [on_full.still(image) for image in (full[0], full[0], full[1])]
    verdicts_small = [on_small.still(downscale(image, 640).image) for image in (full[0], full[0], full[1])]
    assert verdicts_small == verdicts_full == [False, True, False]


def test_a_lone_small_face_entering_a_1080p_scene_is_not_still():
    gate = MotionGate()
    empty = np.full((1080, 1920, 3), 90, np.uint8)
    gate.still(empty)
    entering = empty.copy()
    entering[500:560, 1300:1360] = 170  # a 60 px face, the size the benchmark clip's walkers start at
    assert not gate.still(entering)


def _moved(gate: MotionGate, *figures: tuple[int, int, int, int]):
    """What the gate says of a grey 640x360 picture once the given rectangles (x, y, w, h) turn white."""
    empty = _frame(100)
    gate.compare(empty)
    entering = empty.copy()
    for x, y, w, h in figures:
        entering[y:y + h, x:x + w] = 230
    return gate.compare(entering)


def _inside(inner, outer) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[0] + inner[2] <= outer[0] + outer[2] \
        and inner[1] + inner[3] <= outer[1] + outer[3]


def test_the_first_frame_is_searched_whole():
    assert MotionGate().compare(_frame(100)).regions is None


def test_a_still_frame_has_nothing_to_search():
    gate = MotionGate()
    gate.compare(_frame(100))
    motion = gate.compare(_frame(100))
    assert motion.still and motion.regions == ()


def test_a_figure_entering_is_searched_in_one_region_around_it_and_nowhere_else():
    figure = (300, 120, 30, 60)
    motion = _moved(MotionGate(), figure)
    assert not motion.still and len(motion.regions) == 1 and _inside(figure, motion.regions[0])
    x, y, w, h = motion.regions[0]
    assert w * h < 0.1 * 640 * 360  # a margin of context, not the picture


def test_two_figures_far_apart_are_searched_in_two_regions():
    left, right = (40, 100, 30, 60), (540, 200, 30, 60)
    regions = _moved(MotionGate(), left, right).regions
    assert len(regions) == 2 and {_inside(left, r) for r in regions} == {True, False}
    assert any(_inside(right, r) for r in regions)


def test_motion_over_most_of_the_picture_is_searched_whole():
    assert _moved(MotionGate(), (0, 0, 500, 300)).regions is None


def test_overlapping_regions_are_joined_so_no_face_is_searched_twice():
    from facetrail.analytics.motion import merge_overlapping

    assert merge_overlapping([(0, 0, 10, 10), (50, 50, 10, 10), (5, 5, 10, 10)]) == [(0, 0, 15, 15), (50, 50, 10, 10)]
